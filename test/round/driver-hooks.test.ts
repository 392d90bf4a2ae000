// The driver's persistence hooks hold back what they guard: an update is published only after the
// `announcing` hook (the daemon's privacy ledger write) resolved, and not at all when it failed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLayout } from '../../src/tensor/index.js'
import { createRoundConfig, modelBytes, RoundDriver, type Announce, type ChainState, type Commit, type RoundTransport, type OutgoingMessage, type SyncOffer } from '../../src/round/index.js'
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

/** A lone member's run: its commits, final state and blobs (a peer another node syncs from). */
async function loneRun (rounds: number, step: number): Promise<{ commits: Commit[], state: ChainState, blobs: Map<string, Uint8Array> }> {
  const layout = createLayout([{ name: 'w', shape: [16] }])
  const cfg = createRoundConfig({ runId: 'hooks', innerSteps: 1, codec: 'fp32', deadlineMs: 1000, collectMs: 500, backupStepMs: 500, backups: 0 })
  const params = new Float32Array(16).fill(1)
  const chain = { round: 0, modelId: digest(modelBytes(params)), params, outer: { step: 0, velocity: null }, electorate: [{ peerId: 'peer-0', capacity: 1 }] }
  const blobs = new Map<string, Uint8Array>()
  const commits: Commit[] = []
  const transport: RoundTransport = {
    now: () => 0,
    at: () => {},
    publish: () => {},
    putBlob: (id, bytes) => { blobs.set(id, bytes) },
    fetchBlob: (id, _p, _k, done) => { const b = blobs.get(id); done(b != null ? { ok: true, bytes: b } : { ok: false, reason: 'none' }) },
    // a lone member commits as soon as it trained: it stops training after `rounds`
    train: (r, p, _s, done) => done(r < rounds ? { params: p.map(v => v - step), samples: 10 } : null),
    sync: (_r, done) => done(null),
    pullCommit: (_p, _r, done) => done([])
  }
  const driver = new RoundDriver({ cfg, layout, deps: { self: 'peer-0', digest }, restore: { chain, codec: {} } }, transport)
  driver.on(e => { if (e.type === 'applied') commits.push(e.commit) })
  driver.start()
  await tick()
  assert.equal(driver.round, rounds, 'the lone run reached its rounds')
  return { commits, state: driver.state, blobs }
}

test('no commit is applied while an adopted chain is being persisted: the store never holds one state with another chain', async () => {
  const ahead = await loneRun(2, 0.1)
  const other = await loneRun(1, 0.2)
  assert.notEqual(other.commits[0].newModelId, ahead.commits[0].newModelId)
  const layout = createLayout([{ name: 'w', shape: [16] }])
  const cfg = createRoundConfig({ runId: 'hooks', innerSteps: 1, codec: 'fp32', deadlineMs: 1000, collectMs: 500, backupStepMs: 500, backups: 0 })
  const params = new Float32Array(16).fill(1)
  const chain = { round: 0, modelId: digest(modelBytes(params)), params, outer: { step: 0, velocity: null }, electorate: [{ peerId: 'peer-0', capacity: 1 }] }
  let offer!: (o: SyncOffer) => void
  const transport: RoundTransport = {
    now: () => 0,
    at: () => {},
    publish: () => {},
    putBlob: () => {},
    fetchBlob: (id, _p, _k, done) => { const b = other.blobs.get(id) ?? ahead.blobs.get(id); done(b != null ? { ok: true, bytes: b } : { ok: false, reason: 'none' }) },
    train: (_r, _p, _s, done) => done(null),
    sync: (_r, done) => { offer = o => done(o) },
    pullCommit: (_p, _r, done) => done([])
  }
  let persisting = false
  let release!: () => void
  const appliedWhilePersisting: number[] = []
  const driver = new RoundDriver({
    cfg, layout, deps: { self: 'peer-1', digest }, restore: { chain, codec: {} },
    hooks: {
      adopted: async () => { persisting = true; await new Promise<void>(resolve => { release = resolve }); persisting = false },
      applied: () => { if (persisting) appliedWhilePersisting.push(driver.round) }
    }
  }, transport)
  driver.start()
  // a peer says it applied round 2: this node syncs
  driver.peerAt('peer-0', 2)
  offer({ from: 'peer-0', commits: ahead.commits.map(commit => ({ commit })), state: ahead.state })
  await tick()
  assert.ok(persisting, 'the adopted chain is being persisted')
  // meanwhile another valid commit of round 0 arrives (a backup's, on another branch)
  driver.receive({ type: 'commit', msg: other.commits[0] })
  for (let i = 0; i < 5; i++) await tick()
  assert.equal(driver.round, 0, 'the engine waits for the adopted chain')
  release()
  for (let i = 0; i < 5; i++) await tick()
  assert.deepEqual(appliedWhilePersisting, [], 'nothing was applied while the adoption was persisted')
  assert.equal(driver.round, 2)
  assert.equal(driver.state.modelId, ahead.state.modelId, 'the engine holds the adopted state, which the adopted chain leads to')
})
