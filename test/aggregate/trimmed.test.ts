// Tests of the trimmed mean: trimming arithmetic, outlier removal, β = 0, order independence, errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { trimmedMean, trimmedAt, trimCount, canonicalInputs, AggregateError, AggregateErrorCode } from '../../src/aggregate/index.js'
import { makeUpdates, permute, sameBytes } from './helpers.js'

const u = (id: string, ...v: number[]): { id: string, update: Float32Array, weight: number } => ({ id, update: Float32Array.from(v), weight: 1 })
const code = (c: AggregateErrorCode) => (e: unknown) => e instanceof AggregateError && e.code === c

test('drops ⌊βn⌋ values on each side per coordinate', () => {
  const inputs = [u('a', -100, 1), u('b', 1, 2), u('c', 2, 3), u('d', 3, 4), u('e', 100, 50)]
  assert.equal(trimCount(5, 0.2), 1)
  assert.deepEqual([...trimmedMean(inputs, 0.2)], [2, 3])
  assert.deepEqual([...trimmedMean(inputs, 0.1)], [Math.fround(6 / 5), 12])
})

test('β = 0 is the unweighted mean', () => {
  const inputs = makeUpdates(6, 300, 8)
  const t = trimmedMean(inputs, 0)
  for (let j = 0; j < 300; j++) {
    const ref = inputs.reduce((a, x) => a + x.update[j], 0) / 6
    assert.ok(Math.abs(t[j] - ref) < 1e-8)
  }
})

test('with f outliers and β·n ≥ f the outliers are gone', () => {
  const honest = makeUpdates(8, 200, 9)
  const evil = [0, 1].map(i => ({ id: `evil${i}`, update: new Float32Array(200).fill(i === 0 ? 1e5 : -1e5), weight: 1 }))
  const t = trimmedMean([...honest, ...evil], 0.2)
  for (const v of t) assert.ok(Math.abs(v) < 1)
})

test('permuting arrival order gives identical bytes; coordinates alone match', () => {
  const inputs = makeUpdates(10, 500, 10)
  const ref = trimmedMean(inputs, 0.15)
  for (let s = 0; s < 5; s++) assert.ok(sameBytes(trimmedMean(permute(inputs, s), 0.15), ref))
  const sorted = canonicalInputs(inputs)
  const k = trimCount(10, 0.15)
  for (let j = 0; j < 500; j++) assert.ok(Object.is(trimmedAt(sorted, j, k), ref[j]))
})

test('β outside [0, 0.5) fails with ERR_AGGREGATE_BAD_PARAMETER', () => {
  const inputs = makeUpdates(4, 3, 11)
  for (const beta of [-0.1, 0.5, 0.9, NaN]) assert.throws(() => trimmedMean(inputs, beta), code(AggregateErrorCode.BadParameter))
  assert.deepEqual([...trimmedMean([u('a', 1), u('b', 2), u('c', 30)], 0.49)], [2])
})
