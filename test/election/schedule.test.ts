// Tests of the hand-over schedule: a failed aggregator costs exactly one deadline, then one step per backup.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createHandoverSchedule, ElectionError, ElectionErrorCode } from '../../src/election/index.js'

const candidates = ['agg', 'b1', 'b2', 'b3']

test('the aggregator holds the round for exactly one deadline, then backup 1 takes it', () => {
  const s = createHandoverSchedule({ roundStart: 1000, deadlineMs: 30000, backupStepMs: 10000, candidates })
  assert.deepEqual(s.responsibleAt(999), { state: 'pending', startsAt: 1000 })
  assert.deepEqual(s.responsibleAt(1000), { state: 'active', rank: 0, peerId: 'agg', since: 1000, until: 31000 })
  assert.equal((s.responsibleAt(30999.999) as { rank: number }).rank, 0)
  assert.deepEqual(s.responsibleAt(31000), { state: 'active', rank: 1, peerId: 'b1', since: 31000, until: 41000 })
  assert.equal((s.responsibleAt(41000) as { peerId: string }).peerId, 'b2')
  assert.equal((s.responsibleAt(59999) as { peerId: string }).peerId, 'b3')
  assert.deepEqual(s.responsibleAt(61000), { state: 'exhausted', since: 61000 })
  assert.equal(s.endsAt, 61000)
})

test('backup step defaults to the deadline', () => {
  const s = createHandoverSchedule({ roundStart: 0, deadlineMs: 5, candidates })
  assert.deepEqual(candidates.map((_, r) => [s.startOf(r), s.deadlineOf(r)]), [[0, 5], [5, 10], [10, 15], [15, 20]])
})

test('windows tile time: each instant has exactly one owner and ownership only moves forward', () => {
  fc.assert(fc.property(
    fc.double({ min: -1e12, max: 1e12, noNaN: true }), fc.double({ min: 1e-3, max: 1e7, noNaN: true }),
    fc.double({ min: 1e-3, max: 1e7, noNaN: true }), fc.integer({ min: 1, max: 8 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }),
    (start, d, step, n, fractions) => {
      const s = createHandoverSchedule({ roundStart: start, deadlineMs: d, backupStepMs: step, candidates: Array.from({ length: n }, (_, i) => `p${i}`) })
      const times = fractions.map(f => start + f * (d + n * step) * 1.1).sort((a, b) => a - b)
      let last = -1
      for (const t of times) {
        const r = s.responsibleAt(t)
        if (r.state === 'active') {
          assert.ok(r.since <= t && t < r.until, `t ${t} in [${r.since}, ${r.until})`)
          assert.ok(r.rank >= last)
          last = r.rank
        } else {
          assert.equal(r.state, 'exhausted')
          assert.ok(t >= s.endsAt)
          last = n
        }
      }
    }
  ))
})

test('bad schedules fail with typed errors', () => {
  const code = (c: ElectionErrorCode) => (e: unknown) => e instanceof ElectionError && e.code === c
  assert.throws(() => createHandoverSchedule({ roundStart: 0, deadlineMs: 0, candidates }), code(ElectionErrorCode.BadSchedule))
  assert.throws(() => createHandoverSchedule({ roundStart: 0, deadlineMs: 10, backupStepMs: -1, candidates }), code(ElectionErrorCode.BadSchedule))
  assert.throws(() => createHandoverSchedule({ roundStart: NaN, deadlineMs: 10, candidates }), code(ElectionErrorCode.BadSchedule))
  assert.throws(() => createHandoverSchedule({ roundStart: 0, deadlineMs: 10, candidates: [] }), code(ElectionErrorCode.NoMembers))
  const s = createHandoverSchedule({ roundStart: 0, deadlineMs: 10, candidates })
  assert.throws(() => s.deadlineOf(4), code(ElectionErrorCode.BadInput))
})
