// A network partition between real daemons (gater-driven: the daemons refuse each other's
// connections, streams and gossip for a while): the cut-off node commits rounds on its own, and
// once the partition heals it adopts the branch the majority followed — one chain again, its own
// branch kept as evidence, nothing wiped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readdir, readFile, rm } from 'node:fs/promises'
import { LocalCluster, sleep } from '../../src/daemon/cluster.js'
import type { StoredCommit } from '../../src/daemon/chain-store.js'

// every member is a candidate (backups 3): the cut-off node gets a window each round and commits alone
const CONFIG = { innerSteps: 5, threads: 1, deadlineMs: 6_000, collectMs: 2_000, backupStepMs: 2_000, backups: 3, partition: 'iid' }
const PARTITION_MS = 40_000

const chainOf = async (c: LocalCluster, i: number): Promise<StoredCommit['commit'][]> => {
  const text = await readFile(join(c.nodes[i].dataDir, 'chain', 'commits.jsonl'), 'utf8').catch(() => '')
  return text.trim() === '' ? [] : text.trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit)
}

test('a partition heals into one chain: the cut-off node adopts the majority\'s branch and keeps its own as evidence', { timeout: 300_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 4, rounds: 0, config: CONFIG, env: { TAPESTRY_TEST_PARTITION: '1' } })
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  await c.startAll()
  await c.waitFor('round 1 applied everywhere', async () => (await Promise.all([0, 1, 2, 3].map(async i => await c.rounds(i)))).every(r => r.some(x => x.round >= 1)), 120_000)
  const lone = c.nodes[3].peerId
  const rest = c.nodes.slice(0, 3).map(n => n.peerId)
  await c.query(3, 'partition', { peers: rest, ms: PARTITION_MS })
  for (const i of [0, 1, 2]) await c.query(i, 'partition', { peers: [lone], ms: PARTITION_MS })
  const healAt = Date.now() + PARTITION_MS

  // while cut off, node 3 commits on its own and the majority goes on without it
  await c.waitFor('a solo commit on node 3', async () => (await c.rounds(3)).some(r => r.aggregator === lone && r.included === 1), PARTITION_MS)
  await sleep(Math.max(0, healAt - Date.now()))
  const majorityBefore = await chainOf(c, 0)
  assert.ok(majorityBefore.every(k => k.included.every(u => u.peerId !== lone) || k.round < majorityBefore.length - 3), 'the majority went on without node 3')

  // healed: within a minute every node holds the same commit for a common recent round
  await c.waitFor('one chain again', async () => {
    const chains = await Promise.all([0, 1, 2, 3].map(async i => await chainOf(c, i)))
    const common = Math.min(...chains.map(ch => ch.length)) - 1
    if (common < 0) return false
    const at = chains.map(ch => ch.find(k => k.round === common)?.newModelId)
    return at.every(id => id != null && id === at[0]) && chains[3].some(k => k.round === common && k.aggregator !== lone)
  }, 90_000, 1000)
  const forks = await readdir(join(c.nodes[3].dataDir, 'chain', 'forks'))
  assert.ok(forks.length >= 1, 'node 3 kept its abandoned branch as evidence')
  const kept = (await readFile(join(c.nodes[3].dataDir, 'chain', 'forks', forks[0]), 'utf8')).trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit)
  assert.ok(kept.some(k => k.aggregator === lone && k.included.length === 1), 'its solo commits are in the evidence')
  for (const i of [0, 1, 2]) assert.ok(!(await readdir(join(c.nodes[i].dataDir, 'chain')).then(d => d.includes('forks'))), `node ${i} never left its branch`)
  // and its log says which rule moved it, with what each branch had (logged once the adopted
  // branch is persisted, which the checks above already see: give the line a moment to land)
  const movedLines = async (): Promise<string[]> => (await readFile(join(c.dir, 'node-3.log'), 'utf8')).split('\n').filter(l => l.includes('moved to its branch'))
  await c.waitFor('node 3 to log the move', async () => (await movedLines()).length >= 1, 10_000, 200)
  const moved = await movedLines()
  const reason = JSON.parse(moved[0]) as { rule?: string, values?: { mine: number, theirs: number } }
  assert.ok(reason.rule != null && reason.values != null && reason.values.theirs !== reason.values.mine, `the rule and both branches' measures: ${moved[0]}`)
  // and the run goes on, node 3 included again
  const before = Math.max(...(await c.rounds(0)).map(r => r.round))
  await c.waitFor('two more rounds', async () => Math.max(...(await c.rounds(0)).map(r => r.round)) >= before + 2, 60_000)
})
