// Forks heal: a node that committed on its own while cut off adopts the branch the electorate
// followed when the partition heals, keeps its own branch as evidence, and wipes nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { FORK_SETTLE_ROUNDS, RefusalCode, branchBuilders, branchWeight, checkChain, decideFork, findFork, prefersTheirs, type Commit } from '../../src/round/index.js'

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

test('fork choice: within FORK_SETTLE_ROUNDS, the first commit that folded more of the electorate wins, then the lower rank, then the smaller model id', () => {
  const electorate = ['a', 'b', 'c', 'd'].map(p => ({ peerId: p, capacity: 1 }))
  const solo = commit(3, 'm', 'z', ['a'])
  const most = commit(3, 'm', 'y', ['b', 'c', 'd'], 2)
  assert.equal(branchWeight(most, electorate), 3)
  assert.equal(branchWeight(commit(3, 'm', 'w', ['b', 'outsider']), electorate), 1, 'peers outside the electorate do not count')
  assert.equal(prefersTheirs([solo], [most], electorate), true)
  assert.equal(prefersTheirs([most], [solo], electorate), false)
  assert.equal(prefersTheirs([commit(3, 'm', 'y', ['b'], 1)], [commit(3, 'm', 'z', ['c'], 0)], electorate), true, 'lower rank')
  assert.deepEqual(decideFork([commit(3, 'm', 'y', ['b'], 1)], [commit(3, 'm', 'z', ['c'], 0)], electorate), { theirs: true, rule: 'rank', values: { mine: 1, theirs: 0 } })
  assert.equal(prefersTheirs([commit(3, 'm', 'y', ['b'])], [commit(3, 'm', 'x', ['c'])], electorate), true, 'smaller model id')
  assert.equal(prefersTheirs([commit(3, 'm', 'x', ['b'])], [commit(3, 'm', 'y', ['c'])], electorate), false)
})

/** a branch from round `from`: its first commit folds `first`, every later one `then` */
const branch = (from: number, rounds: number, tag: string, first: string[], then: string[]): Commit[] =>
  Array.from({ length: rounds }, (_, i) => commit(from + i, i === 0 ? 'm' : `${tag}${i}`, `${tag}${i + 1}`, i === 0 ? first : then))

test('fork choice: past FORK_SETTLE_ROUNDS, the branch more of the electorate built on after the fork wins, however long the other ran', () => {
  const electorate = ['a', 'b', 'c', 'd', 'e'].map(p => ({ peerId: p, capacity: 1 }))
  // a partition: e alone ran 300 rounds (its rounds close as soon as its own update is in), the others 12
  const lone = branch(30, 300, 'l', ['a', 'b', 'c', 'd', 'e'], ['e'])
  const run = branch(30, 12, 'r', ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd'])
  assert.equal(branchBuilders(lone, electorate), 1)
  assert.equal(branchBuilders(run, electorate), 4)
  assert.deepEqual(decideFork(run, lone, electorate), { theirs: false, rule: 'builders', values: { mine: 4, theirs: 1 } })
  assert.equal(prefersTheirs(run, lone, electorate), false, 'the run keeps its branch')
  assert.equal(prefersTheirs(lone, run, electorate), true, 'the lone node adopts it')
  // peers that joined after the fork do not count
  const joined = branch(30, 5000, 'j', ['e'], ['e', 'outsider-1', 'outsider-2'])
  assert.equal(branchBuilders(joined, electorate), 1, 'peers outside the electorate do not count')
  assert.equal(prefersTheirs(run, joined, electorate), false)
  // a heavier first commit nobody built on (its author died before gossiping it, or held it back)
  const heavy = branch(30, 1, 'h', ['a', 'b', 'c', 'd', 'e'], [])
  assert.equal(branchBuilders(heavy, electorate), 0)
  const light = (n: number): Commit[] => branch(30, n, 'g', ['a', 'b', 'c'], ['a', 'b', 'c'])
  assert.equal(prefersTheirs(heavy, light(FORK_SETTLE_ROUNDS + 1), electorate), true, 'past the settle bound the branch that was built on wins')
  assert.equal(prefersTheirs(light(FORK_SETTLE_ROUNDS + 1), heavy, electorate), false)
  // within it, what the first commits folded (a censored commit loses to the honest one, however many followed it)
  assert.equal(prefersTheirs(heavy, light(FORK_SETTLE_ROUNDS), electorate), false)
  assert.equal(prefersTheirs(light(2), heavy, electorate), true)
})

test('fork choice: among as many builders, a branch that ran on past FORK_SETTLE_ROUNDS is settled by length, whatever its first commit weighed', () => {
  const electorate = ['a', 'b', 'c'].map(p => ({ peerId: p, capacity: 1 }))
  const heavyFirst = (n: number): Commit[] => branch(30, n, 'h', ['a', 'b', 'c'], ['a', 'b'])
  const lightFirst = (n: number): Commit[] => branch(30, n, 'l', ['a', 'b'], ['a', 'b'])
  assert.equal(prefersTheirs(heavyFirst(3), lightFirst(300), electorate), true, 'the longer branch')
  assert.equal(prefersTheirs(lightFirst(300), heavyFirst(3), electorate), false)
  // short forks (a backup's commit beside the aggregator's) stay with the first commit's weight
  assert.equal(prefersTheirs(heavyFirst(2), lightFirst(FORK_SETTLE_ROUNDS), electorate), false)
  assert.equal(prefersTheirs(lightFirst(FORK_SETTLE_ROUNDS), heavyFirst(2), electorate), true)
  // equal lengths, however long: the first commit's weight
  assert.equal(prefersTheirs(lightFirst(40), heavyFirst(40), electorate), true)
  assert.deepEqual(decideFork(heavyFirst(3), lightFirst(300), electorate), { theirs: true, rule: 'length', values: { mine: 3, theirs: 300 } })
  assert.deepEqual(decideFork(lightFirst(40), heavyFirst(40), electorate), { theirs: true, rule: 'first commit', values: { mine: 2, theirs: 3 } })
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

test('a lone node that ran far ahead during a partition adopts the branch the others built; they keep theirs', () => {
  // with 20 ms links the majority's rounds take longer than the lone node's, which close as soon
  // as its own update is in: by the heal it is thousands of rounds ahead
  const lone = 'peer-4'
  const until = 30_000
  const h = new Harness({ nodes: 5, isolate: { peer: lone, until }, latency: 20 })
  h.startAll()
  h.runUntil(() => h.now >= until, until + 1)
  const loneRound = h.engines.get(lone)!.round
  const majorityRound = h.engines.get('peer-0')!.round
  assert.ok(loneRound > majorityRound + 1000, `the lone node ran ahead (${loneRound} against ${majorityRound})`)
  const healed = h.runUntil(() => h.eventsOf('forkChosen', lone).some(e => e.adopted) &&
    new Set(h.peers.map(p => h.engines.get(p)!.round)).size === 1, until + 30_000)
  assert.ok(healed, 'one chain again')
  for (const p of h.peers.filter(p => p !== lone)) {
    assert.ok(!h.eventsOf('forkChosen', p).some(e => e.adopted), `${p} kept its branch`)
    assert.ok(h.engines.get(p)!.round > majorityRound, `${p} went on from its own round`)
  }
  assert.ok(h.engines.get(lone)!.round < loneRound, 'the lone node left its long branch')
})

test('a fork offer whose state trails its own chain is asked for again later, and its peer is not reported', () => {
  // the majority's peers answer the lone node's first fork checks with a state of round 0 (as a
  // daemon does while it still persists the state after its newest commit): nothing is wrong
  // with that branch, so no syncRefused (a daemon pauses a peer it reports), and a later ask adopts it
  const lone = 'peer-4'
  let trailing = 0
  const h: Harness = new Harness({
    nodes: 5,
    isolate: { peer: lone, from: 300, until: 3000 },
    // a fork check asks for the chain from further back than the asker's own round (a catch-up, from it)
    offeredState: (_from, to, state, fromRound) => to === lone && fromRound < h.engines.get(lone)!.round && trailing < 3 ? (trailing++, { ...state, round: 0 }) : state
  })
  h.startAll()
  h.runUntil(() => h.now >= 3000, 3001)
  const fork = h.applied.get(lone)!.findIndex((a, i) => a.modelId !== h.applied.get('peer-0')![i]?.modelId)
  assert.ok(fork > 0, 'the chains parted after round 0')
  const healed = h.runUntil(() => h.eventsOf('forkChosen', lone).some(e => e.adopted), 60_000)
  assert.ok(healed, 'the lone node adopted the others\' branch')
  assert.equal(trailing, 3, 'its first offers trailed their chains')
  // (a plain catch-up that meets the other branch is refused and reported: that chain does not extend this node's head)
  const refused = h.eventsOf('syncRefused', lone).filter(e => e.reason.startsWith('other branch'))
  assert.deepEqual(refused.map(e => e.reason), [], 'no peer reported for a state still being persisted')
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
