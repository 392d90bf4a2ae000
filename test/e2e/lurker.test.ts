// A member that is present but never announces does not hold the round: rounds while it lurks
// take about as long as without it, far below the collect window every aggregator used to wait out.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rm } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LocalCluster, sleep } from '../../src/daemon/cluster.js'
import { ensureIdentity } from '../../src/daemon/datadir.js'

const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'lurker-agent.js')
const COLLECT_MS = 6_000
const CONFIG = { innerSteps: 5, threads: 1, deadlineMs: 12_000, collectMs: COLLECT_MS, backupStepMs: 3_000, partition: 'iid' }

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]

test('a lurking member (presence, no announces) does not stretch rounds to the collect window', { timeout: 240_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 2, rounds: 0, config: CONFIG })
  const lurkerDir = join(c.dir, 'lurker')
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  const key = await ensureIdentity(lurkerDir)
  await c.startAll()
  await c.admit(peerIdFromPrivateKey(key).toString())
  await c.waitFor('round 3 applied', async () => (await c.rounds(0)).some(r => r.round >= 3), 120_000)
  const agent = spawn(process.execPath, [AGENT, JSON.stringify({
    addr: `/ip4/127.0.0.1/tcp/${c.nodes[0].port}/p2p/${c.nodes[0].peerId}`, runId: c.manifest.runId, keyFile: join(lurkerDir, 'identity.key'), seconds: 25
  })], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  agent.stdout.on('data', d => { out += String(d) })
  const from = Date.now() + 3_000 // once its presence is known
  await new Promise(resolve => agent.once('exit', resolve))
  const until = Date.now()
  assert.ok((JSON.parse(out.trim()) as { sent: number }).sent > 10, 'the lurker was present')
  await sleep(500)
  const rounds = await c.rounds(0)
  const at = rounds.map(r => r.at)
  const gaps = at.slice(1).map((t, i) => ({ t, gap: t - at[i] }))
  const before = gaps.filter(g => g.t < from - 3_000).map(g => g.gap)
  const during = gaps.filter(g => g.t >= from && g.t <= until).map(g => g.gap)
  process.stdout.write(`# round gaps: before median ${median(before)} ms (${before.length}), while lurking median ${median(during)} ms (${during.length})\n`)
  assert.ok(during.length >= 3, `rounds went on while it lurked: ${during.length}`)
  assert.ok(median(during) < COLLECT_MS * 0.8, `median round ${median(during)} ms while lurking; the collect window is ${COLLECT_MS} ms`)
})
