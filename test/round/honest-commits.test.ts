// No censorship and a sane fold: verifiers reject a commit that leaves out an update they saw in
// time and could fetch, and the update screen refuses an outsized update in a way they recompute.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { RefusalCode } from '../../src/round/index.js'

/** The round-0 aggregator of an honest run of `nodes` (the election is a pure function of the run). */
function aggregatorOf (nodes: number, mode: 'gossip' | 'aggregator' = 'gossip'): string {
  const probe = new Harness({ nodes, config: { mode, aggregateCodec: 'int8' } })
  probe.startAll()
  probe.run(0)
  return probe.commits[0].commit.aggregator
}

test('gossip mode: a commit that leaves out an update announced in time is rejected as censoring, and a backup takes the round', () => {
  const censor = aggregatorOf(5)
  const victim = ['peer-0', 'peer-1', 'peer-2', 'peer-3', 'peer-4'].find(p => p !== censor)!
  // the censor never listens to the victim, and closes with a quorum after collectMs
  const h = new Harness({ nodes: 5, dropAnnounce: (to, msg) => to === censor && msg.peerId === victim })
  h.startAll()
  h.run(0)
  const refusals = h.eventsOf('refused').filter(r => r.code === RefusalCode.Censored)
  assert.ok(refusals.length >= 3, 'the other members refused the censoring commit')
  assert.ok(refusals.every(r => r.from === censor && r.severity === 'reject'))
  const applied = h.commits.find(c => c.commit.aggregator !== censor)
  assert.ok(applied != null, 'a backup committed')
  assert.ok(applied.commit.included.some(u => u.peerId === victim), 'with the victim\'s update')
  for (const p of h.peers.filter(p => p !== censor)) assert.equal(h.applied.get(p)!.find(a => a.round === 0)?.modelId, applied.commit.newModelId)
})

test('aggregator mode: the backups, who verify in full, refuse a censoring commit', () => {
  const censor = aggregatorOf(5, 'aggregator')
  const victim = ['peer-0', 'peer-1', 'peer-2', 'peer-3', 'peer-4'].find(p => p !== censor)!
  const h = new Harness({ nodes: 5, config: { mode: 'aggregator', aggregateCodec: 'int8' }, dropAnnounce: (to, msg) => to === censor && msg.peerId === victim })
  h.startAll()
  h.runUntil(() => h.commits.length >= 2, 5000)
  assert.ok(h.eventsOf('refused').some(r => r.code === RefusalCode.Censored && r.from === censor))
  assert.ok(h.commits.some(c => c.commit.aggregator !== censor && c.commit.included.some(u => u.peerId === victim)))
})

test('the screen refuses an outsized update, names it in the commit, and every verifier agrees', () => {
  const h = new Harness({ nodes: 5, scale: { peer: 'peer-2', factor: 100 } })
  h.startAll()
  h.run(1)
  for (const { commit } of h.commits) {
    assert.deepEqual(commit.excluded?.map(e => [e.peerId, e.reason]), [['peer-2', 'refused']], `round ${commit.round}`)
    assert.equal(commit.included.length, 4)
  }
  for (let r = 0; r < 2; r++) assert.equal(new Set(h.peers.map(p => h.applied.get(p)!.find(a => a.round === r)?.modelId)).size, 1)
  assert.ok(h.eventsOf('refused').some(r => r.code === RefusalCode.Screened && r.from === 'peer-2'))
})

test('a commit that calls an honest update refused by the screen is rejected', () => {
  const aggregator = aggregatorOf(5)
  const h = new Harness({
    nodes: 5,
    tamper: c => {
      if (c.aggregator !== aggregator || c.round !== 0) return c
      const [dropped, ...rest] = c.included.filter(u => u.peerId !== aggregator)
      const kept = c.included.filter(u => u !== dropped)
      void rest
      return { ...c, included: kept, excluded: [{ updateId: dropped.updateId, peerId: dropped.peerId, reason: 'refused' }] }
    }
  })
  h.startAll()
  h.run(0)
  assert.ok(h.eventsOf('refused').some(r => r.what === 'commit' && r.from === aggregator && r.code === RefusalCode.FoldMismatch))
  assert.ok(h.commits.some(c => c.commit.aggregator !== aggregator))
})

test('with the screen off (maxNormRatio 0) the outsized update is folded', () => {
  const h = new Harness({ nodes: 5, scale: { peer: 'peer-2', factor: 100 }, config: { maxNormRatio: 0 } })
  h.startAll()
  h.run(0)
  assert.equal(h.commits[0].commit.included.length, 5)
  assert.equal(h.commits[0].commit.excluded, undefined)
})
