// Forks heal: a node that committed on its own while cut off adopts the branch the electorate
// followed when the partition heals, keeps its own branch as evidence, and wipes nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { branchWeight, findFork, prefersTheirs, type Commit } from '../../src/round/index.js'

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
