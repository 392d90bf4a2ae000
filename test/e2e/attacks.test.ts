// Members that misbehave, against real daemons: a member that steals update ids, inflates its
// weights, signs two commits per round and floods presences gains nothing — the run keeps
// committing, no commit credits it, the honest nodes hold signed evidence of its equivocation, and a
// commit carries the proof so that every node excludes it from the electorate at the same round.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFile, rm } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LocalCluster, sleep } from '../../src/daemon/cluster.js'
import { ensureIdentity } from '../../src/daemon/datadir.js'
import type { StoredCommit } from '../../src/daemon/chain-store.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const AGENT = join(HERE, 'attacker-agent.js')
const BIN = join(HERE, '..', '..', '..', 'bin', 'tapestry.js')
const CONFIG = { innerSteps: 5, threads: 1, deadlineMs: 8_000, collectMs: 3_000, backupStepMs: 2_000, partition: 'iid' }

test('a member stealing update ids, inflating weights, equivocating and flooding gains nothing; evidence names it', { timeout: 300_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 3, rounds: 0, config: CONFIG })
  const attackerDir = join(c.dir, 'attacker')
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  const key = await ensureIdentity(attackerDir)
  const attacker = peerIdFromPrivateKey(key).toString()
  await c.startAll()
  await c.admit(attacker)
  await c.waitFor('round 2 applied', async () => (await c.rounds(0)).some(r => r.round >= 2), 120_000)
  const startRound = Math.max(...(await c.rounds(0)).map(r => r.round))
  // node 0 takes the flood; node 1, which it does not forward the excess to, is the baseline
  const rssBefore = await Promise.all([0, 1].map(async i => await rssMiB(c.nodes[i].proc?.pid)))
  const agent = spawn(process.execPath, [AGENT, JSON.stringify({
    addr: `/ip4/127.0.0.1/tcp/${c.nodes[0].port}/p2p/${c.nodes[0].peerId}`, runId: c.manifest.runId, keyFile: join(attackerDir, 'identity.key'), seconds: 30
  })], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  agent.stdout.on('data', d => { out += String(d) })
  await new Promise(resolve => agent.once('exit', resolve))
  const sent = JSON.parse(out.trim()) as { stolen: number, inflated: number, equivocations: number, presences: number }
  process.stdout.write(`# attacker sent ${JSON.stringify(sent)}\n`)
  assert.ok(sent.stolen > 0 && sent.inflated > 0 && sent.equivocations > 0 && sent.presences > 1000, 'every attack ran')
  await sleep(1000)
  // the flood costs a signature check per message and nothing kept: node 0's memory grows no more than node 1's
  const rssAfter = await Promise.all([0, 1].map(async i => await rssMiB(c.nodes[i].proc?.pid)))
  const growth = rssAfter.map((a, i) => a - rssBefore[i])
  process.stdout.write(`# resident memory growth during the attack: flooded node ${growth[0]} MiB (${rssBefore[0]} → ${rssAfter[0]}), baseline node ${growth[1]} MiB (${rssBefore[1]} → ${rssAfter[1]})\n`)
  assert.ok(growth[0] < growth[1] + 150, `memory bounded under the flood: +${growth[0]} MiB against +${growth[1]} MiB`)

  // the run kept committing through the attack, and no commit credits the attacker
  const rounds = await c.rounds(0)
  const endRound = Math.max(...rounds.map(r => r.round))
  assert.ok(endRound - startRound >= 3, `rounds went on: ${startRound} → ${endRound}`)
  for (let i = 0; i < 3; i++) {
    const text = await readFile(join(c.nodes[i].dataDir, 'chain', 'commits.jsonl'), 'utf8')
    const commits = text.trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit)
    assert.ok(commits.every(k => k.aggregator !== attacker && k.included.every(u => u.peerId !== attacker)), `node ${i}: no commit credits the attacker`)
  }
  // the flood was cut at the budget, and the honest nodes hold proof of the two commits per round
  const status = await c.query(0, 'status')
  assert.ok(status.refused.gossipRate > 0, `presences over budget dropped: ${status.refused.gossipRate}`)
  let proven = 0
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, [BIN, 'evidence', '--data-dir', c.nodes[i].dataDir, '--json'], { encoding: 'utf8', env: { ...process.env, TAPESTRY_LOG: 'warn' } })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    const rows = r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map(l => JSON.parse(l) as { kind: string, accused: string, verdict: string })
    assert.ok(rows.every(x => x.accused === attacker), 'evidence accuses only the attacker')
    proven += rows.filter(x => x.kind === 'equivocation' && x.verdict === 'proven').length
  }
  assert.ok(proven > 0, 'equivocation evidence recorded and proven')
  // and a commit carried the proof: every node excludes the attacker from the electorate for good
  await c.waitFor('the attacker banned on every node', async () => {
    const views = await Promise.all([0, 1, 2].map(async i => await c.query(i, 'status')))
    return views.every(v => v.banned.includes(attacker))
  }, 60_000)
  const carried = (await readFile(join(c.nodes[0].dataDir, 'chain', 'commits.jsonl'), 'utf8')).trim().split('\n')
    .map(l => (JSON.parse(l) as { commit: { round: number, equivocations?: Array<{ accused: string }> } }).commit)
    .filter(k => (k.equivocations ?? []).some(p => p.accused === attacker))
  assert.equal(carried.length, 1, 'one commit on the chain carries the proof')
})

/** Resident memory of a process in MiB (Linux /proc). */
async function rssMiB (pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8')
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024)
}
