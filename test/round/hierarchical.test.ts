import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { planGroups, groupOf, createRoundConfig, RoundError, RoundErrorCode, RefusalCode } from '../../src/round/index.js'

const HIER = { mode: 'hierarchical' as const, groupSize: 4, codec: 'topk:0.25+q8', aggregateCodec: 'int8', subAggregateCodec: 'int8' }

function agreedModel (h: Harness, round: number): string {
  const ids = h.peers.filter(p => h.alive(p)).map(p => h.applied.get(p)!.find(a => a.round === round)?.modelId)
  assert.ok(ids.every(id => id != null), `every live peer applied round ${round}`)
  assert.equal(new Set(ids).size, 1, 'all peers hold the same model')
  return ids[0]!
}

test('groups: a balanced partition of the ranking, memoised, and outsiders placed alike by everyone', () => {
  const order = Array.from({ length: 37 }, (_, i) => `p${i}`)
  const plan = planGroups(order, 8)
  assert.equal(plan.count, 5)
  assert.deepEqual(plan.groups.flat(), order, 'every member in exactly one group, ranking order kept')
  const sizes = plan.groups.map(g => g.length)
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced sizes ${sizes.join(',')}`)
  assert.equal(planGroups(order, 8), plan, 'same ranking array → same plan object')
  const seed = { runId: 'r', round: 3, prevModelId: 'm' }
  const counts = new Array(plan.count).fill(0)
  for (let i = 0; i < 5000; i++) {
    const g = groupOf(plan, seed, `late-${i}`)
    assert.equal(groupOf(planGroups([...order], 8), seed, `late-${i}`), g, 'any node derives the same group')
    counts[g]++
  }
  for (const c of counts) assert.ok(c > 850 && c < 1150, `outsiders spread evenly: ${counts.join(',')}`)
  assert.equal(planGroups(order.slice(0, 3), 8).count, 1)
})

test('hierarchical mode: 4 rounds, 3 groups of 4, every node derives the same models', () => {
  const h = new Harness({ nodes: 12, config: HIER })
  h.startAll()
  h.run(3)
  for (let r = 0; r < 4; r++) agreedModel(h, r)
  const verified = new Set(h.peers.flatMap(p => h.applied.get(p)!.map(a => a.verified)))
  for (const v of ['self', 'groups', 'aggregate']) assert.ok(verified.has(v as never), `some node verified by ${v}`)
  for (const { commit, at } of h.commits) {
    assert.equal(commit.included.length, 12)
    assert.equal(commit.subAggregates?.length, 3)
    assert.deepEqual(commit.subAggregates!.map(s => s.rank), [0, 0, 0])
    assert.ok(at < (commit.round + 1) * 250, `round ${commit.round} closed at ${at} once every group was in`)
  }
  // every node places every peer alike, and the sub-aggregators are the groups' rank 0
  const roles = h.peers.map(p => JSON.stringify(h.peers.map(q => h.engines.get(p)!.groupRole(q))))
  assert.equal(new Set(roles).size, 1)
  const subAggregators = h.peers.filter(q => h.engines.get('peer-0')!.groupRole(q)!.rank === 0)
  assert.equal(subAggregators.length, 3)
  // sub-aggregators rotate: groups are redrawn each round
  const authors = new Set(h.subAggregates.map(s => s.aggregator))
  assert.ok(authors.size > 3, `${authors.size} distinct sub-aggregators over 4 rounds`)
})

test('the root fold of group folds equals the flat mean (lossless codecs)', () => {
  const lossless = { codec: 'fp32', aggregateCodec: 'fp32' }
  const flat = new Harness({ nodes: 10, config: { ...lossless, mode: 'aggregator' } })
  const hier = new Harness({ nodes: 10, config: { ...lossless, mode: 'hierarchical', groupSize: 3, subAggregateCodec: 'fp32' } })
  for (const h of [flat, hier]) { h.startAll(); h.run(0) }
  const a = flat.engines.get('peer-0')!.state.params
  const b = hier.engines.get('peer-0')!.state.params
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]))
  assert.ok(worst < 1e-6, `max |flat − hierarchical| = ${worst}`)
  assert.equal(hier.commits[0].commit.subAggregates?.length, 4)
})

test('a dead sub-aggregator: its group\'s first sub-backup folds the group, no live update lost', () => {
  const probe = new Harness({ nodes: 12, config: HIER })
  probe.startAll()
  probe.run(0)
  const commit0 = probe.commits[0].commit
  // kill a sub-aggregator that is not the root aggregator, so only the group level is tested
  const victim = commit0.subAggregates!.map(s => s.aggregator).find(a => a !== commit0.aggregator)!
  const h = new Harness({ nodes: 12, config: HIER, dead: new Set([victim]) })
  h.startAll()
  h.run(0)
  const c = h.commits[0].commit
  assert.equal(c.included.length, 11, 'every live update included')
  const group = commit0.subAggregates!.find(s => s.aggregator === victim)!.group
  assert.equal(c.subAggregates!.find(s => s.group === group)!.rank, 1, 'the sub-backup folded the group')
  agreedModel(h, 0)
})

test('a group fold that does not match its updates is rejected by its group\'s candidates', () => {
  const probe = new Harness({ nodes: 12, config: HIER })
  probe.startAll()
  probe.run(0)
  const liar = probe.subAggregates[0].aggregator
  // the liar claims a different weight for one of its updates: the fold it offers is not the fold of what it lists
  const h = new Harness({
    nodes: 12,
    config: HIER,
    tamperSub: s => s.aggregator === liar && s.round === 0 ? { ...s, included: s.included.map((u, i) => i === 0 ? { ...u, samples: u.samples + 5 } : u) } : s
  })
  h.startAll()
  h.run(0, 5000)
  assert.ok(h.eventsOf('refused').some(r => r.code === RefusalCode.FoldMismatch && /group \d+'s fold/.test(r.reason)), 'a group candidate caught the lie')
})

test('hierarchical settings are checked', () => {
  const badConfig = (field: string) => (e: unknown): boolean => e instanceof RoundError && e.code === RoundErrorCode.BadConfig && e.field === field
  assert.throws(() => createRoundConfig({ runId: 'r', mode: 'hierarchical', groupSize: 1 }), badConfig('groupSize'))
  assert.throws(() => createRoundConfig({ runId: 'r', mode: 'hierarchical', subAggregateCodec: 'zip' }), badConfig('subAggregateCodec'))
  assert.throws(() => createRoundConfig({ runId: 'r', mode: 'tree' as never }), badConfig('mode'))
})
