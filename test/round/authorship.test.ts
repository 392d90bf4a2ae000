// Updates belong to their author: a copy of another member's update id, a replay of an old update
// and an inflated weight claim change nothing in the fold and are refused with their own codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { RefusalCode, compareUtf8, type Announce } from '../../src/round/index.js'

const THIEF = 'peer-3'

/** Every commit names each update under the peer whose envelope it is, and the thief's copies are refused. */
function assertNoStolenCredit (h: Harness, rounds: number, honest = h.peers): void {
  for (let r = 0; r < rounds; r++) {
    const ids = honest.filter(p => h.alive(p)).map(p => h.applied.get(p)!.find(a => a.round === r)?.modelId)
    assert.ok(ids.every(id => id != null), `every peer applied round ${r}`)
    assert.equal(new Set(ids).size, 1, `one model in round ${r}`)
  }
  for (const { commit } of h.commits) {
    for (const u of commit.included) {
      const own = h.eventsOf('announced', u.peerId).find(e => e.round === commit.round)
      assert.equal(own?.updateId, u.updateId, `round ${commit.round}: ${u.updateId.slice(0, 8)} is listed under its author ${u.peerId}`)
    }
  }
}

for (const mode of ['gossip', 'aggregator'] as const) {
  test(`${mode} mode: a member that re-announces others' update ids ahead of them gains nothing`, () => {
    // the thief claims each honest update as its own, and its copy arrives first everywhere
    const forge = (a: Announce): Announce[] => a.peerId === THIEF ? [] : [{ ...a, peerId: THIEF }]
    const h = new Harness({ nodes: 5, forge, config: { mode, codec: mode === 'gossip' ? 'fp32' : 'topk:0.25+q8', aggregateCodec: 'int8' } })
    h.startAll()
    h.run(2)
    assertNoStolenCredit(h, 3)
    const refused = h.eventsOf('refused').filter(r => r.code === RefusalCode.WrongAuthor)
    assert.ok(refused.length > 0, 'the copies were refused as not their claimant\'s')
    assert.ok(refused.every(r => r.from === THIEF && r.severity === 'reject'))
    // every honest update made it in under its author
    for (const { commit } of h.commits) {
      for (const p of h.peers.filter(p => p !== THIEF)) assert.ok(commit.included.some(u => u.peerId === p), `round ${commit.round} includes ${p}`)
    }
  })
}

test('an old update replayed as this round\'s is refused (its envelope names the round it was made for)', () => {
  const old: Announce[] = []
  const forge = (a: Announce): Announce[] => {
    if (a.peerId !== THIEF) return []
    old.push(a)
    const first = old[0]
    return a.round > first.round ? [{ ...first, round: a.round, baseModelId: a.baseModelId }] : []
  }
  const h = new Harness({ nodes: 4, forge })
  h.startAll()
  const honest = h.peers.filter(p => p !== THIEF)
  h.runUntil(() => honest.every(p => h.engines.get(p)!.round > 2))
  // the thief's replay took its own slot, so its real update is left out: it refuses those commits
  // as censoring and falls behind, which only costs itself
  assertNoStolenCredit(h, 3, honest)
  assert.ok(h.eventsOf('refused').some(r => r.code === RefusalCode.WrongAuthor && r.from === THIEF))
})

test('weights come from the roster: an inflated sample count or capacity is refused', () => {
  const limits = (peerId: string): { capacity: number, samples: number } | undefined =>
    /^peer-[0-4]$/.test(peerId) ? { capacity: 1, samples: 10 } : undefined
  const forge = (a: Announce): Announce[] => a.peerId === THIEF
    ? [{ ...a, samples: 2 ** 53 - 1, attempt: 1 }, { ...a, peerId: 'outsider', attempt: 1 }]
    : []
  const h = new Harness({ nodes: 5, limits, forge })
  h.startAll()
  h.run(1)
  const refused = h.eventsOf('refused')
  assert.ok(refused.some(r => r.code === RefusalCode.WrongWeight && r.from === THIEF), 'inflated samples refused')
  assert.ok(refused.some(r => r.code === RefusalCode.NotMember && r.from === 'outsider'), 'non-member refused')
  for (const { commit } of h.commits) {
    assert.equal(commit.included.length, 5)
    assert.ok(commit.included.every(u => u.samples === 10 && u.capacity === 1), 'every claim is the roster\'s (the harness trains with 10 + i samples)')
  }
})

test('a commit listing an update under a peer that did not make it is rejected by full verifiers', () => {
  const probe = new Harness({ nodes: 4 })
  probe.startAll()
  probe.run(0)
  const aggregator = probe.commits[0].commit.aggregator
  const victim = probe.commits[0].commit.included.find(u => u.peerId !== aggregator)!.peerId
  // the aggregator credits the victim's update to itself (and its own to the victim)
  const h = new Harness({
    nodes: 4,
    tamper: c => {
      if (c.aggregator !== aggregator) return c
      const mine = c.included.find(u => u.peerId === aggregator)!
      const theirs = c.included.find(u => u.peerId === victim)!
      const swapped = c.included.map(u => u === mine ? { ...u, updateId: theirs.updateId } : u === theirs ? { ...u, updateId: mine.updateId } : u)
      return { ...c, included: swapped.sort((a, b) => compareUtf8(a.updateId, b.updateId)) }
    }
  })
  h.startAll()
  h.run(0)
  assert.ok(h.eventsOf('refused').some(r => r.what === 'commit' && r.from === aggregator && r.code === RefusalCode.FoldMismatch && /is not .*'s update/.test(r.reason)))
  assert.ok(h.commits.some(c => c.commit.aggregator !== aggregator), 'a backup took the round')
})
