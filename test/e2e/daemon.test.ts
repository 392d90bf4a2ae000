// End to end with real daemon processes on 127.0.0.1: training to accuracy, a late joiner,
// an aggregator killed mid-round, and a daemon killed and restarted.
import { test, after, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalCluster } from '../../src/daemon/cluster.js'
import { decodeCommit } from '../../src/net/gossip-codec.js'
import { proofHolds } from '../../src/net/announce-proof.js'
import type { RoundHistory } from '../../src/daemon/node.js'

const CONFIG = {
  innerSteps: 50,
  batch: 32,
  codec: 'topk:0.03+q4',
  deadlineMs: 6_000,
  collectMs: 3_000,
  backupStepMs: 3_000,
  partition: 'iid',
  threads: 1
}

const clusters: LocalCluster[] = []
// stopped, then their data dirs (four or five daemons' chains and blobs, tens of MB) removed
after(async () => { for (const c of clusters) { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) } })

/** A cluster stopped when the test that made it ends, so the next test does not share the CPU with it. */
async function cluster (t: TestContext, o: Parameters<typeof LocalCluster.create>[0]): Promise<LocalCluster> {
  const c = await LocalCluster.create(o)
  clusters.push(c)
  t.after(async () => { await c.stopAll() })
  return c
}

/**
 * Every update in node `i`'s stored signed commits carries its author's announce signature, and
 * it holds against the commit alone (protocols/gossip.md §3): the proofs fork choice counts.
 */
async function everyUpdateProven (c: LocalCluster, i: number): Promise<number> {
  const lines = (await readFile(join(c.nodes[i].dataDir, 'chain', 'commits.jsonl'), 'utf8')).split('\n').filter(l => l.trim() !== '')
  let proven = 0
  for (const line of lines) {
    const commit = (await decodeCommit(Buffer.from((JSON.parse(line) as { signed: string }).signed, 'base64'))).message
    for (const u of commit.included) {
      assert.ok(proofHolds({ runId: commit.runId, round: commit.round, baseModelId: commit.prevModelId }, u, CONFIG.codec), `round ${commit.round}: ${u.peerId}'s update carries its announce signature`)
      proven++
    }
  }
  return proven
}

async function applied (c: LocalCluster, i: number, round: number): Promise<RoundHistory | undefined> {
  return (await c.rounds(i)).find(r => r.round === round)
}

// generous waits: beside the crash drill (npm test runs two files at once) rounds here take several times longer
test('4 daemons reach ≥ 90% test accuracy within 10 rounds; a node started after round 3 catches up and contributes', { timeout: 480_000 }, async (t) => {
  // founders run until the test stops them, so the late joiner has a running network to join
  // however slowly it starts (rounds take well under a second here)
  // quorum 1: a round closes early only with every member's update, else at its deadline, so the
  // late node (the slowest, beside another end-to-end file) is not left out of every round by the
  // four founders closing at the 3 s collect window without it
  const c = await cluster(t, { nodes: 4, rounds: 0, config: { ...CONFIG, quorum: 1 } })

  await c.startAll()
  await c.waitFor('round 3 applied', async () => (await applied(c, 0, 3)) != null, 120_000)
  const late = await c.addNode()
  await c.start(late.index)
  // it must sync to the running chain and have its own update included in a later commit
  await c.waitFor('the late node to apply a round', async () => (await c.rounds(late.index)).length > 0, 60_000)
  const lateRounds = await c.rounds(late.index)
  assert.ok(lateRounds[0].round >= 4, `late node resumed at round ${lateRounds[0].round}`)
  // it adopted a peer's state only after replaying that peer's signed chain from its own genesis
  const lateLog = await readFile(join(c.dir, `node-${late.index}.log`), 'utf8')
  assert.match(lateLog, /caught up with the run/)
  assert.doesNotMatch(lateLog, /peer chain refused/)
  await c.waitFor('a commit including the late node', async () => (await c.rounds(0)).some(r => r.round > 3 && r.included === 5), 180_000)
  await c.waitFor('round 9 on node 0', async () => (await applied(c, 0, 9)) != null, 150_000)
  const r9 = (await applied(c, 0, 9))!
  assert.ok(r9.accuracy != null && r9.accuracy >= 0.9, `accuracy after 10 rounds: ${String(r9.accuracy)}`)
  // the committers' own updates and the others': all signed by their authors (the late node's chain came by sync)
  assert.ok(await everyUpdateProven(c, 0) >= 40)
  assert.ok(await everyUpdateProven(c, late.index) > 0)
  // round-trip times come from libp2p's connection monitor (its ping every 10 s), not from pings of the daemon's own
  await c.waitFor('every connected peer\'s round-trip time', async () => {
    const peers = (await c.query(0, 'peers')).peers.filter(p => p.connected)
    return peers.length >= 4 && peers.every(p => p.latencyMs != null && p.latencyMs >= 0)
  }, 30_000)
  // every node holds the same model for every round it applied
  const byRound = new Map<number, string>()
  for (let i = 0; i < c.nodes.length; i++) {
    for (const r of await c.rounds(i)) {
      const seen = byRound.get(r.round)
      if (seen != null) assert.equal(r.modelId, seen, `node ${i} round ${r.round}`)
      else byRound.set(r.round, r.modelId)
    }
  }
  // every applied round carries its timings, in causal order (no durations are checked here: see bench/round-overhead.ts)
  for (const r of await c.rounds(0)) {
    const t = r.timing
    assert.ok(t != null, `round ${r.round} has timings`)
    assert.ok(t.appliedAt != null && t.persistedAt != null && t.appliedAt <= t.persistedAt && t.persistedAt <= r.at, `round ${r.round}: applied ≤ persisted ≤ recorded`)
    if (t.startedAt != null) assert.ok(t.startedAt <= t.appliedAt, `round ${r.round}: started before applied`)
    if (t.trainedAt != null) assert.ok(t.trainStartAt != null && t.trainStartAt <= t.trainedAt, `round ${r.round}: training start ≤ end`)
    if (t.announcedAt != null && t.trainedAt != null) assert.ok(t.trainedAt <= t.announcedAt, `round ${r.round}: trained before announced`)
    if (r.verified === 'self') assert.ok(t.closedAt != null && t.commitPublishedAt != null && t.closedAt <= t.appliedAt, `round ${r.round}: the committer closed, then committed`)
    else assert.ok(t.commitReceivedAt != null && t.commitReceivedAt <= t.appliedAt, `round ${r.round}: commit received before applied`)
    assert.equal(t.fetchedBytes, t.fetches.reduce((a, f) => a + f.bytes, 0))
    for (const f of t.fetches) assert.ok(f.startAt <= f.doneAt && (f.ok ? f.bytes > 0 : f.bytes === 0), `round ${r.round}: fetch record ${JSON.stringify(f)}`)
    // gossip mode: a node folds or verifies every update, so it fetched the ones of the other nodes
    if (r.included >= 2 && t.trainedAt != null) assert.ok(t.fetches.some(f => f.ok && f.kind === 'update'), `round ${r.round}: update fetches recorded`)
  }
})

test('the elected aggregator is SIGKILLed mid-round: the first backup commits that round with every announced update; a killed daemon restarts from its last commit', { timeout: 300_000 }, async (t) => {
  // longer local work per round widens the window in which the aggregator can be killed mid-round
  const c = await cluster(t, { nodes: 4, rounds: 0, config: { ...CONFIG, innerSteps: 200 } })

  await c.startAll()
  await c.waitFor('round 1 applied everywhere', async () => {
    for (let i = 0; i < 4; i++) if ((await applied(c, i, 1)) == null) return false
    return true
  }, 120_000, 100)
  // round 2 is running: find its aggregator and first backup, kill the aggregator at once
  const status = await c.query(0, 'status')
  const R = status.round
  const victim = c.nodes.findIndex(n => n.peerId === status.aggregator)
  assert.ok(victim >= 0)
  const backup = status.peers.find(p => p.role === 'backup 1')?.peerId ?? (await c.query(victim === 0 ? 1 : 0, 'status')).peers.find(p => p.role === 'backup 1')?.peerId
  c.kill(victim, 'SIGKILL')
  const watcher = victim === 0 ? 1 : 0
  await c.waitFor(`round ${R} committed by a backup`, async () => (await applied(c, watcher, R)) != null, 60_000)
  const r2 = (await applied(c, watcher, R))!
  assert.equal(r2.rank, 1, 'the first backup committed')
  if (backup != null) assert.equal(r2.aggregator, backup)
  assert.notEqual(r2.aggregator, status.aggregator)
  // every live node's update is in; so is the victim's when it got out before the kill
  const announcedByVictim = (await readFile(join(c.dir, `node-${victim}.log`), 'utf8')).split('\n').some(l => l.includes(`"round":${R},`) && l.includes('announced update'))
  assert.equal(r2.included, announcedByVictim ? 4 : 3, `included ${r2.included}, victim announced: ${announcedByVictim}`)
  const before = (await c.rounds(watcher)).length
  // restart the killed daemon: it resumes from its snapshot, catches up and contributes again
  await c.start(victim)
  await c.waitFor('the restarted node to apply a round', async () => (await c.rounds(victim)).length > 0, 60_000)
  const log = await readFile(join(c.dir, `node-${victim}.log`), 'utf8')
  const resumed = log.split('\n').find(l => l.includes('resumed from the last commit'))
  assert.ok(resumed != null, 'restart resumed from the snapshot')
  assert.equal(JSON.parse(resumed).round, R, `resumed at the round after its last applied commit (${R - 1})`)
  await c.waitFor('a commit including the restarted node', async () => {
    const rs = await c.rounds(watcher)
    return rs.length > before && rs.some(r => r.round > R && r.included === 4)
  }, 90_000)
})

test('hierarchical mode over libp2p: 4 daemons in 2 groups; group folds gossiped, fetched and verified; one model everywhere', { timeout: 180_000 }, async (t) => {
  const c = await cluster(t, { nodes: 4, rounds: 0, config: { ...CONFIG, mode: 'hierarchical', groupSize: 2 } })

  await c.startAll()
  await c.waitFor('round 2 applied everywhere', async () => {
    for (let i = 0; i < 4; i++) if ((await applied(c, i, 2)) == null) return false
    return true
  }, 120_000)
  const verified = new Set<string>()
  for (let round = 0; round <= 2; round++) {
    const rs = await Promise.all([0, 1, 2, 3].map(async i => (await applied(c, i, round))!))
    assert.equal(new Set(rs.map(r => r.modelId)).size, 1, `round ${round}: one model on every node`)
    for (const r of rs) verified.add(r.verified)
  }
  // operators see each peer's group role
  const st = await c.query(0, 'status')
  assert.match(st.role, /group \d/)
  assert.ok(st.peers.some(p => p.role.includes('sub-aggregator')) || st.role.includes('sub-aggregator'))
  // root candidates refold the group folds; the committer authored it
  assert.ok(verified.has('groups') && verified.has('self'), `verified by ${[...verified].join(', ')}`)
  // a daemon that starts or evaluates late may miss a round; with all four in, both groups are folded
  let full: RoundHistory | undefined
  await c.waitFor('a round of 2 groups including all 4 updates', async () => {
    // 2 groups when the electorate (the previous round's included peers) has 4 members
    const rs = await c.rounds(0)
    full = rs.find(r => r.included === 4 && (r.round === 0 || rs.find(p => p.round === r.round - 1)?.included === 4))
    return full != null
  }, 60_000)
  const logs = await Promise.all([0, 1, 2, 3].map(async i => await readFile(join(c.dir, `node-${i}.log`), 'utf8')))
  const folds = logs.join('\n').split('\n').filter(l => l.includes('"msg":"folded group"')).map(l => JSON.parse(l) as { round: number, group: number })
  assert.deepEqual(new Set(folds.filter(f => f.round === full!.round).map(f => f.group)), new Set([0, 1]), `round ${full!.round}: both groups folded`)
  // proofs pass from announces through the group folds into the root's commit
  assert.ok(await everyUpdateProven(c, 0) >= 4)
})
