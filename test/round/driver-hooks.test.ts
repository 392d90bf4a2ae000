// The driver's persistence hooks hold back what they guard: an update is published only after the
// `announcing` hook (the daemon's privacy ledger write) resolved, and not at all when it failed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLayout } from '../../src/tensor/index.js'
import { createRoundConfig, modelBytes, RoundDriver, type Announce, type RoundTransport, type OutgoingMessage } from '../../src/round/index.js'
import { digest } from './harness.js'

function oneNode (announcing: (msg: Announce) => Promise<void>): { driver: RoundDriver, published: OutgoingMessage[] } {
  const layout = createLayout([{ name: 'w', shape: [16] }])
  const cfg = createRoundConfig({ runId: 'hooks', innerSteps: 1, codec: 'fp32', deadlineMs: 1000, collectMs: 500, backupStepMs: 500 })
  const params = new Float32Array(16).fill(1)
  const published: OutgoingMessage[] = []
  const transport: RoundTransport = {
    now: () => 0,
    at: () => {},
    publish: out => { published.push(out) },
    putBlob: () => {},
    fetchBlob: (_id, _p, _k, done) => done({ ok: false, reason: 'none' }),
    train: (_r, p, _s, done) => done({ params: p.map(v => v - 0.1), samples: 10 }),
    sync: (_r, done) => done(null),
    pullCommit: (_p, _r, done) => done([])
  }
  const chain = { round: 0, modelId: digest(modelBytes(params)), params, outer: { step: 0, velocity: null }, electorate: [{ peerId: 'peer-0', capacity: 1 }] }
  const driver = new RoundDriver({ cfg, layout, deps: { self: 'peer-0', digest }, restore: { chain, codec: {} }, hooks: { announcing } }, transport)
  return { driver, published }
}

const tick = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))

test('an announce is published only after the announcing hook resolved', async () => {
  let release!: () => void
  const seen: number[] = []
  const { driver, published } = oneNode(async msg => { seen.push(msg.round); await new Promise<void>(resolve => { release = resolve }) })
  driver.start()
  await tick()
  assert.deepEqual(seen, [0], 'the hook saw the round 0 announce')
  assert.equal(published.filter(o => o.type === 'announce').length, 0, 'nothing published while the hook runs')
  release()
  await tick()
  assert.equal(published.filter(o => o.type === 'announce').length, 1)
})

test('an announce whose hook failed is not published', async () => {
  const { driver, published } = oneNode(async () => { throw new Error('disk full') })
  const warned: string[] = []
  driver.on(e => { if (e.type === 'log' && e.level === 'warn') warned.push(String(e.data?.err)) })
  driver.start()
  await tick()
  await tick()
  assert.equal(published.filter(o => o.type === 'announce').length, 0)
  assert.match(warned.join('\n'), /disk full/)
})
