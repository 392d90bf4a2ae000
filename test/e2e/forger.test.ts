// Members that forge branches, against real daemons (sync.md §7). One contributes until it is in
// the electorate, then serves a 60-round branch listing every member and ending in an all-zero
// model: fork choice counts builders by their announce signatures, so every honest node keeps its
// branch (counted by what commits list, all of them moved). Another, elected aggregator, withholds
// its commit and reveals a rank-0 one of that round after the backup's, with the backup's updates
// and an all-zero model: within a few rounds the first commits decide, and it would win on rank;
// the members refold it first and refuse it (without the refold, all of them moved).
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFile, rm } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LocalCluster } from '../../src/daemon/cluster.js'
import { ensureIdentity } from '../../src/daemon/datadir.js'
import type { StoredCommit } from '../../src/daemon/chain-store.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const AGENT = join(HERE, 'forger-agent.js')
const WITHHOLDER = join(HERE, 'withholder-agent.js')
const CODEC = 'topk:0.03+q4'
const CONFIG = { innerSteps: 5, threads: 1, deadlineMs: 6_000, collectMs: 2_000, backupStepMs: 2_000, partition: 'iid', codec: CODEC }

/** A cluster of three daemons with one more member admitted (key in `<dir>/rogue`), after round 1. */
async function clusterWithRogue (t: TestContext, mode: 'gossip' | 'aggregator' = 'gossip'): Promise<{ c: LocalCluster, keyFile: string, rogue: string }> {
  const c = await LocalCluster.create({ nodes: 3, rounds: 0, config: { ...CONFIG, mode } })
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  const dir = join(c.dir, 'rogue')
  const rogue = peerIdFromPrivateKey(await ensureIdentity(dir)).toString()
  await c.startAll()
  await c.admit(rogue)
  await c.waitFor('round 1 applied', async () => (await c.rounds(0)).some(r => r.round >= 1), 120_000)
  return { c, keyFile: join(dir, 'identity.key'), rogue }
}

/** Runs a rogue member's agent against node 0 until it exits; returns the JSON it prints. */
async function runAgent<T> (c: LocalCluster, agent: string, keyFile: string, extra: Record<string, unknown>): Promise<T> {
  const child = spawn(process.execPath, [agent, JSON.stringify({
    addr: `/ip4/127.0.0.1/tcp/${c.nodes[0].port}/p2p/${c.nodes[0].peerId}`, runId: c.manifest.runId, keyFile, codec: CODEC, ...extra
  })], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  await new Promise(resolve => child.once('exit', resolve))
  return JSON.parse(out.trim()) as T
}

test('a member forging a long branch that lists everyone moves no one: builders are counted by their signatures', { timeout: 300_000 }, async (t) => {
  const { c, keyFile, rogue: forger } = await clusterWithRogue(t)
  const report = await runAgent<{ announced: number, includedAt: number, forkRound: number, forged: number, gossiped: number, error: string }>(c, AGENT, keyFile, { seconds: 45, forged: 60 })
  process.stdout.write(`# forger: ${JSON.stringify(report)}\n`)
  assert.equal(report.error, '')
  assert.ok(report.includedAt >= 0 && report.forged === 60 && report.gossiped > 3, 'the forger got into the electorate, forged its branch and showed it')

  for (let i = 0; i < 3; i++) {
    const lines = (await readFile(join(c.dir, `node-${i}.log`), 'utf8')).split('\n').filter(l => l.includes('"msg":"fork from round'))
    const forks = lines.map(l => JSON.parse(l) as { msg: string, rule?: string, values?: { mine: number, theirs: number } }).filter(l => l.msg.includes(forger))
    // each honest node looked at the forged branch and kept its own, by builders: the forger alone signed on the other
    assert.ok(forks.length > 0, `node ${i} checked the fork`)
    for (const f of forks) {
      assert.match(f.msg, /kept this node's branch/, `node ${i}: ${f.msg}`)
      assert.equal(f.rule, 'builders', `node ${i}: ${f.msg}`)
      assert.ok(f.values != null && f.values.theirs === 1 && f.values.mine >= 3, `node ${i}: ${f.msg}`)
    }
    // and its chain holds no commit of the forger from the fork round on
    const commits = (await readFile(join(c.nodes[i].dataDir, 'chain', 'commits.jsonl'), 'utf8')).trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit)
    assert.ok(commits.every(k => k.round < report.forkRound || k.aggregator !== forger), `node ${i}: no forged commit adopted`)
    assert.ok(commits.some(k => k.round >= report.forkRound + 2), `node ${i}: the run went on past the fork round`)
  }
})

for (const mode of ['gossip', 'aggregator'] as const) {
  test(`${mode} mode: an aggregator that withholds its commit and reveals a rank-0 one with a zero model after the backup's is refolded and refused`, { timeout: 300_000 }, async (t) => {
    const { c, keyFile, rogue: withholder } = await clusterWithRogue(t, mode)
    const report = await runAgent<{ announced: number, withheld: number, revealed: number, backupRank: number, gossiped: number, error: string }>(c, WITHHOLDER, keyFile, { seconds: 90 })
    process.stdout.write(`# withholder: ${JSON.stringify(report)}\n`)
    assert.equal(report.error, '')
    assert.ok(report.withheld >= 0 && report.revealed === report.withheld && report.backupRank >= 1 && report.gossiped > 3, 'elected, it withheld, a backup committed, and it revealed its own commit')

    let refolded = 0
    for (let i = 0; i < 3; i++) {
      const lines = (await readFile(join(c.dir, `node-${i}.log`), 'utf8')).split('\n').filter(l => l !== '').map(l => JSON.parse(l) as { msg: string, from?: string })
      // by what the first commits list it would win (same updates, rank 0): refolded, it is refused
      const moved = lines.find(l => l.msg.includes(`with ${withholder}: moved to its branch`))
      assert.equal(moved, undefined, `node ${i} kept its branch: ${moved?.msg ?? ''}`)
      if (lines.some(l => l.from === withholder && l.msg.startsWith('commit refused: refolded after its round'))) refolded++
      const commits = (await readFile(join(c.nodes[i].dataDir, 'chain', 'commits.jsonl'), 'utf8')).trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit)
      assert.ok(commits.every(k => k.aggregator !== withholder), `node ${i}: no commit of the withholder on its chain`)
      assert.ok(commits.some(k => k.round >= report.revealed + 2), `node ${i}: the run went on`)
    }
    // (a node still in that round, or checking another fork as the commit came by, refuses it live or not at all)
    assert.ok(refolded >= 1, 'the revealed commit was refolded after its round and refused')
  })
}
