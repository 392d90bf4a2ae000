// Gossip mode fetches the next round's updates as they are announced (src/round/prefetch.ts): a
// member held up by slow fetches no longer holds the next round's fetches until it catches up.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { EARLY_BYTES, NextRoundPrefetch } from '../../src/round/prefetch.js'

const SLOW = 'peer-3'

/** When `peer` started each round (having applied the commit before it). */
function startedAt (h: Harness, peer: string): Map<number, number> {
  return new Map(h.eventsOf('roundStarted', peer).map(e => [e.round, e.at]))
}

/** The fetches of a round that `peer` started before it started that round. */
function earlyFetches (h: Harness, peer: string): number {
  const started = startedAt(h, peer)
  return h.eventsOf('fetched', peer).filter(f => f.startAt < (started.get(f.round) ?? Infinity)).length
}

test('gossip mode: a slow member fetches the next round\'s updates before it applied the commit before them, each once', () => {
  const h = new Harness({ nodes: 4, latency: 5, fetchMs: p => p === SLOW ? 400 : undefined, config: { mode: 'gossip' } })
  h.startAll()
  h.run(4)
  assert.ok(earlyFetches(h, SLOW) > 0, 'the slow member started fetches of a round before it reached it')
  for (const p of h.peers) {
    const ids = h.eventsOf('fetched', p).filter(f => f.ok).map(f => f.id)
    assert.equal(new Set(ids).size, ids.length, `${p} fetched no update twice`)
  }
  for (let r = 0; r <= 4; r++) {
    const models = h.peers.map(p => h.applied.get(p)!.find(a => a.round === r)?.modelId)
    assert.ok(models.every(m => m != null) && new Set(models).size === 1, `round ${r}: one model everywhere`)
  }
  for (const { commit } of h.commits) assert.equal(commit.included.length, 4, `round ${commit.round} folds every update`)
})

test('aggregator mode fetches nothing early: who needs an update is known only once the round starts', () => {
  const h = new Harness({ nodes: 4, latency: 5, fetchMs: p => p === SLOW ? 400 : undefined, config: { mode: 'aggregator', codec: 'topk:0.25+q8', aggregateCodec: 'int8' } })
  h.startAll()
  h.run(3)
  for (const p of h.peers) assert.equal(earlyFetches(h, p), 0, p)
})

test('an early fetch that fails is fetched again in its round', () => {
  // the slow member's early fetches fail: those of updates announced for a round it has not reached
  const roundOf = (id: string): number | undefined => h.eventsOf('announced').find(a => a.updateId === id)?.round
  const failFetch = (p: string, id: string): boolean => p === SLOW && (roundOf(id) ?? -1) > h.engines.get(SLOW)!.round
  const h: Harness = new Harness({ nodes: 4, latency: 5, fetchMs: p => p === SLOW ? 400 : undefined, failFetch, config: { mode: 'gossip' } })
  h.startAll()
  h.run(4)
  const started = startedAt(h, SLOW)
  const fetched = h.eventsOf('fetched', SLOW)
  const earlyFailed = fetched.filter(f => !f.ok && f.startAt < started.get(f.round)!)
  assert.ok(earlyFailed.length > 0, 'some early fetches failed')
  for (const f of earlyFailed) {
    assert.ok(fetched.some(g => g.ok && g.id === f.id && g.startAt >= started.get(f.round)!), `${f.id.slice(0, 8)} fetched again once round ${f.round} started`)
  }
  for (const { commit } of h.commits) assert.equal(commit.included.length, 4, `round ${commit.round} folds every update`)
})

test('NextRoundPrefetch: one fetch per member and id, the next round only, within its byte budget, forgotten once taken', () => {
  const p = new NextRoundPrefetch()
  assert.equal(p.begin(3, 'a', 'x', 10), true)
  assert.equal(p.begin(3, 'a', 'y', 10), false, 'a second update of one member')
  assert.equal(p.begin(3, 'b', 'x', 10), false, 'the same id again')
  assert.equal(p.begin(3, 'b', 'y', 10), true)
  assert.equal(p.begin(3, 'c', 'z', EARLY_BYTES), false, 'over the budget: fetched in its round instead')
  assert.equal(p.awaits('x'), true)
  p.arrived('x', new Uint8Array([1]))
  assert.equal(p.awaits('x'), false)
  p.failed('y')
  assert.deepEqual([...p.take(3)], [['x', new Uint8Array([1])]])
  assert.deepEqual([...p.take(3)], [], 'taken once')
  p.begin(4, 'a', 'z', 10)
  assert.equal(p.begin(5, 'a', 'w', EARLY_BYTES), true, 'a later round drops the earlier one, and its bytes')
  assert.deepEqual([...p.take(4)], [])
})
