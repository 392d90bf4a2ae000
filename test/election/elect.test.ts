// Tests of the election: same order on every node, even spread, capacity weighting, typed errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { electAggregators, rankMembers, rendezvousDigest, ElectionError, ElectionErrorCode, type Member } from '../../src/election/index.js'

const peers = (n: number): Member[] => Array.from({ length: n }, (_, i) => ({ peerId: `12D3KooWpeer${String(i).padStart(3, '0')}` }))

/** Pearson chi-square statistic of observed counts against expected counts. */
function chiSquare (observed: number[], expected: number[]): number {
  return observed.reduce((s, o, i) => s + (o - expected[i]) ** 2 / expected[i], 0)
}
// upper 0.1% point of chi-square with 15 degrees of freedom
const CHI2_15_P001 = 37.70

test('every node derives the same order whatever the order of its member list', () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 20 }),
    fc.nat({ max: 1e9 }), fc.string(), fc.integer({ min: 0, max: 1000 }),
    (ids, round, prev, shuffleSeed) => {
      const members = ids.map((peerId, i) => ({ peerId, capacity: i % 3 === 0 ? undefined : 1 + (i % 4) }))
      const shuffled = [...members].sort((a, b) => ((a.peerId.length * 31 + shuffleSeed) % 7) - ((b.peerId.length * 31 + shuffleSeed) % 7)).reverse()
      const k = Math.min(2, ids.length - 1)
      const input = { runId: 'run-1', round, prevModelId: prev, backups: k }
      const a = electAggregators({ ...input, members })
      const b = electAggregators({ ...input, members: shuffled })
      assert.deepEqual(a, b)
      assert.equal(a.length, k + 1)
      assert.equal(new Set(a).size, a.length)
    }
  ), { numRuns: 300 })
})

test('the election is pinned: digests and winners do not drift between versions', () => {
  const d = rendezvousDigest({ runId: 'run-golden', round: 7, prevModelId: 'bafkreigolden' }, '12D3KooWgolden')
  assert.equal(d.toString('hex').slice(0, 16), GOLDEN_DIGEST)
  const order = electAggregators({ runId: 'run-golden', round: 7, prevModelId: 'bafkreigolden', members: peers(8), backups: 3 })
  assert.deepEqual(order, GOLDEN_ORDER)
})

test('each input field changes the draw', () => {
  const base = { runId: 'r', round: 1, prevModelId: 'm', members: peers(32), backups: 4 }
  const ref = electAggregators(base)
  assert.notDeepEqual(electAggregators({ ...base, runId: 'r2' }), ref)
  assert.notDeepEqual(electAggregators({ ...base, round: 2 }), ref)
  assert.notDeepEqual(electAggregators({ ...base, prevModelId: 'm2' }), ref)
  // fields are length-prefixed: moving a character between fields is a different seed
  const a = rendezvousDigest({ runId: 'ab', round: 0, prevModelId: 'c' }, 'p')
  const b = rendezvousDigest({ runId: 'a', round: 0, prevModelId: 'bc' }, 'p')
  assert.notDeepEqual(a, b)
})

test('the aggregator is spread evenly: chi-square over 20,000 rounds × 16 members', () => {
  const members = peers(16)
  const wins = new Map(members.map(m => [m.peerId, 0]))
  const firstBackup = new Map(members.map(m => [m.peerId, 0]))
  const rounds = 20000
  for (let r = 0; r < rounds; r++) {
    const [agg, b1] = electAggregators({ runId: 'uniform-run', round: r, prevModelId: `model-${r}`, members, backups: 1 })
    wins.set(agg, (wins.get(agg) ?? 0) + 1)
    firstBackup.set(b1, (firstBackup.get(b1) ?? 0) + 1)
  }
  const expected = new Array(16).fill(rounds / 16)
  const chiAgg = chiSquare([...wins.values()], expected)
  const chiB1 = chiSquare([...firstBackup.values()], expected)
  assert.ok(chiAgg < CHI2_15_P001, `aggregator chi-square ${chiAgg.toFixed(2)}`)
  assert.ok(chiB1 < CHI2_15_P001, `backup-1 chi-square ${chiB1.toFixed(2)}`)
})

test('weighted election: win frequency is proportional to capacity', () => {
  const members = peers(16).map((m, i) => ({ ...m, capacity: 1 + (i % 4) }))
  const total = members.reduce((a, m) => a + m.capacity, 0)
  const rounds = 20000
  const wins = new Map(members.map(m => [m.peerId, 0]))
  for (let r = 0; r < rounds; r++) {
    const [agg] = electAggregators({ runId: 'weighted-run', round: r, prevModelId: `model-${r}`, members, backups: 0 })
    wins.set(agg, (wins.get(agg) ?? 0) + 1)
  }
  const expected = members.map(m => rounds * m.capacity / total)
  const chi = chiSquare([...wins.values()], expected)
  assert.ok(chi < CHI2_15_P001, `chi-square ${chi.toFixed(2)}`)
  // and per capacity class, within 10% of the proportional share
  for (let c = 1; c <= 4; c++) {
    const got = members.filter(m => m.capacity === c).reduce((a, m) => a + (wins.get(m.peerId) ?? 0), 0)
    const want = rounds * 4 * c / total
    assert.ok(Math.abs(got - want) / want < 0.1, `capacity ${c}: ${got} wins, expected ${want}`)
  }
})

test('equal capacities rank exactly as no capacities', () => {
  const seed = { runId: 'x', round: 3, prevModelId: 'y' }
  const plain = rankMembers(seed, peers(20)).map(r => r.peerId)
  const equal = rankMembers(seed, peers(20).map(m => ({ ...m, capacity: 5 }))).map(r => r.peerId)
  assert.deepEqual(equal, plain)
})

test('ranked members carry rank, ticket and score, best first', () => {
  const ranked = rankMembers({ runId: 'x', round: 3, prevModelId: 'y' }, peers(10))
  ranked.forEach((r, i) => assert.equal(r.rank, i))
  for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1].ticket >= ranked[i].ticket)
  for (const r of ranked) assert.ok(r.ticket >= 0 && r.ticket < 2 ** 52 && Number.isInteger(r.ticket) && r.score > 0)
})

test('bad inputs fail with typed errors', () => {
  const base = { runId: 'r', round: 1, prevModelId: 'm', backups: 1 }
  const code = (c: ElectionErrorCode) => (e: unknown) => e instanceof ElectionError && e.code === c
  assert.throws(() => electAggregators({ ...base, members: [] }), code(ElectionErrorCode.NoMembers))
  assert.throws(() => electAggregators({ ...base, members: peers(1) }), code(ElectionErrorCode.TooManyBackups))
  assert.throws(() => electAggregators({ ...base, members: peers(3), backups: 3 }), code(ElectionErrorCode.TooManyBackups))
  assert.throws(() => electAggregators({ ...base, members: [...peers(3), { peerId: '12D3KooWpeer001' }] }),
    (e: unknown) => code(ElectionErrorCode.DuplicatePeer)(e) && (e as ElectionError).peerId === '12D3KooWpeer001')
  for (const capacity of [0, -1, NaN, Infinity]) {
    assert.throws(() => electAggregators({ ...base, members: [{ peerId: 'a' }, { peerId: 'b', capacity }] }), code(ElectionErrorCode.BadCapacity))
  }
  assert.throws(() => electAggregators({ ...base, members: peers(3), backups: -1 }), code(ElectionErrorCode.BadInput))
  assert.throws(() => electAggregators({ ...base, members: peers(3), round: 1.5 }), code(ElectionErrorCode.BadInput))
  assert.throws(() => electAggregators({ ...base, members: peers(3), runId: '' }), code(ElectionErrorCode.BadInput))
  assert.throws(() => electAggregators({ ...base, members: [{ peerId: '' }, { peerId: 'b' }] }), code(ElectionErrorCode.BadInput))
  assert.deepEqual(electAggregators({ ...base, members: peers(1), backups: 0 }), ['12D3KooWpeer000'])
})

// independently checked with Python: sha256(len32(domain) ‖ domain ‖ len32(run) ‖ run ‖ u64be(round) ‖ len32(prev) ‖ prev ‖ len32(peer) ‖ peer)
const GOLDEN_DIGEST = '316ece1256bf362d'
const GOLDEN_ORDER = ['12D3KooWpeer007', '12D3KooWpeer006', '12D3KooWpeer000', '12D3KooWpeer005']
