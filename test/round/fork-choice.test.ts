// Forks heal: a node that committed on its own while cut off adopts the branch the electorate
// followed when the partition heals, keeps its own branch as evidence, and wipes nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { FORK_SETTLE_ROUNDS, RefusalCode, branchWeight, checkChain, findFork, prefersTheirs, type Commit } from '../../src/round/index.js'

const commit = (round: number, prev: string, next: string, peers: string[], rank = 0): Commit => ({
  runId: 'r', round, aggregator: peers[0] ?? 'x', rank, prevModelId: prev, newModelId: next, aggregateId: '',
  included: peers.map((p, i) => ({ updateId: `u${round}-${i}`, peerId: p, samples: 1, capacity: 1 }))
})

test('findFork: the first round at which two chains differ, from a common model', () => {
  const shared = [commit(0, 'm0', 'm1', ['a', 'b', 'c'])]
  const mine = [...shared, commit(1, 'm1', 'x2', ['a']), commit(2, 'x2', 'x3', ['a'])]
  const theirs = [...shared, commit(1, 'm1', 'y2', ['b', 'c']), commit(2, 'y2', 'y3', ['b', 'c'])]
  assert.deepEqual(findFork(mine, theirs), { round: 1, baseModelId: 'm1' })
  assert.equal(findFork(mine, mine), null, 'one chain: no fork')
  assert.equal(findFork(mine.slice(2), theirs.slice(2)), null, 'parted before the rounds in view')
})

test('fork choice: more of the electorate wins, then the lower rank, then the smaller model id', () => {
  const electorate = ['a', 'b', 'c', 'd'].map(p => ({ peerId: p, capacity: 1 }))
  const solo = commit(3, 'm', 'z', ['a'])
  const most = commit(3, 'm', 'y', ['b', 'c', 'd'], 2)
  assert.equal(branchWeight(most, electorate), 3)
  assert.equal(branchWeight(commit(3, 'm', 'w', ['b', 'outsider']), electorate), 1, 'peers outside the electorate do not count')
  assert.equal(prefersTheirs(solo, most, electorate), true)
  assert.equal(prefersTheirs(most, solo, electorate), false)
  assert.equal(prefersTheirs(commit(3, 'm', 'y', ['b'], 1), commit(3, 'm', 'z', ['c'], 0), electorate), true, 'lower rank')
  assert.equal(prefersTheirs(commit(3, 'm', 'y', ['b']), commit(3, 'm', 'x', ['c']), electorate), true, 'smaller model id')
  assert.equal(prefersTheirs(commit(3, 'm', 'x', ['b']), commit(3, 'm', 'y', ['c']), electorate), false)
})

test('fork choice: a branch that ran on past FORK_SETTLE_ROUNDS is settled by length, whatever its first commit weighed', () => {
  const electorate = ['a', 'b', 'c'].map(p => ({ peerId: p, capacity: 1 }))
  const heavy = commit(30, 'm', 'h', ['a', 'b', 'c'])
  const light = commit(30, 'm', 'l', ['a', 'b'])
  // a node alone on the heavier branch (it committed, then died before gossiping it); the run went on
  assert.equal(prefersTheirs(heavy, light, electorate, { mine: 1, theirs: 300 }), true, 'the lone node adopts the run\'s branch')
  assert.equal(prefersTheirs(light, heavy, electorate, { mine: 300, theirs: 1 }), false, 'the run keeps its branch')
  // short forks (a backup's commit beside the aggregator's) stay with the weight rule
  assert.equal(prefersTheirs(heavy, light, electorate, { mine: 1, theirs: FORK_SETTLE_ROUNDS }), false)
  assert.equal(prefersTheirs(light, heavy, electorate, { mine: FORK_SETTLE_ROUNDS, theirs: 2 }), true)
  // equal lengths, however long: the weight rule
  assert.equal(prefersTheirs(light, heavy, electorate, { mine: 40, theirs: 40 }), true)
})

test('a node cut off that committed alone adopts the majority\'s branch once the partition heals', () => {
  const lone = 'peer-4'
  const h = new Harness({ nodes: 5, isolate: { peer: lone, until: 4000 } })
  h.startAll()
  // by the heal both sides have committed rounds of their own
  h.runUntil(() => h.now >= 4000)
  const loneChain = h.applied.get(lone)!
  assert.ok(loneChain.length > 0, 'the lone node committed on its own')
  const majority = h.applied.get('peer-0')!
  assert.notEqual(loneChain[0].modelId, majority[0].modelId, 'the chains parted at round 0')
  // after the heal: one chain again, the lone node on the majority's
  const healed = h.runUntil(() => {
    const rounds = h.peers.map(p => h.engines.get(p)!.round)
    const r = Math.min(...rounds) - 1
    return r > 0 && h.peers.every(p => h.engines.get(p)!.round > r) &&
      new Set(h.peers.map(p => [...h.applied.get(p)!].reverse().find(a => a.round === r)?.modelId)).size === 1 &&
      h.eventsOf('forkChosen', lone).some(e => e.adopted)
  }, 30_000)
  assert.ok(healed, 'every node holds the same model again')
  const chosen = h.eventsOf('forkChosen', lone).find(e => e.adopted)!
  assert.equal(chosen.round, 0)
  assert.ok(chosen.abandoned > 0, 'its own branch was handed over as evidence')
  // the majority never moved to the lone branch
  for (const p of h.peers.filter(p => p !== lone)) assert.ok(!h.eventsOf('forkChosen', p).some(e => e.adopted), `${p} kept its branch`)
})

test('a proof of equivocation carried by a commit excludes the accused from every electorate after it, on every node', () => {
  const accused = 'peer-2'
  const proof = { first: new Uint8Array([1]), second: new Uint8Array([2]), accused, round: 0 }
  const h = new Harness({ nodes: 5, equivocations: () => [proof] })
  h.startAll()
  h.run(3)
  const first = h.commits.find(c => c.commit.round === 0)!.commit
  assert.deepEqual(first.equivocations?.map(p => p.accused), [accused], 'the round-0 commit carries the proof')
  assert.ok(!h.commits.some(c => c.commit.round > 0 && (c.commit.equivocations?.length ?? 0) > 0), 'carried once: the accused is banned after it')
  for (const { commit } of h.commits.filter(c => c.commit.round > 0)) {
    assert.ok(commit.included.every(u => u.peerId !== accused), `round ${commit.round} leaves the accused out`)
    assert.notEqual(commit.aggregator, accused)
  }
  for (const p of h.peers.filter(p => p !== accused)) {
    const s = h.engines.get(p)!.state
    assert.deepEqual(s.banned, [accused], `${p} holds the ban`)
    assert.ok(s.electorate.every(m => m.peerId !== accused))
  }
  assert.ok(h.eventsOf('refused').some(r => r.code === RefusalCode.Banned && r.from === accused), 'its announces are refused')
  // a commit that includes the accused after the ban is refused, and the ban replays from the chain alone
  const chain = h.applied.get('peer-0')!.map(a => h.commits.find(c => c.commit.round === a.round && c.commit.newModelId === a.modelId)!.commit)
  const replay = checkChain({ round: 0, modelId: h.genesis.modelId, electorate: h.genesis.electorate }, chain, h.cfg)
  assert.ok(replay.ok)
  assert.deepEqual(replay.head.banned, [accused])
})
