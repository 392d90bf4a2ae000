// Tests of the weighted mean: correctness, renormalisation, arrival-order independence, streaming rules, errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MeanFolder, weightedMean, meanAt, canonicalInputs, AggregateError, AggregateErrorCode } from '../../src/aggregate/index.js'
import { makeUpdates, permute, sameBytes } from './helpers.js'

const code = (c: AggregateErrorCode) => (e: unknown) => e instanceof AggregateError && e.code === c

test('weighted mean equals Σ wΔ / Σ w', () => {
  const inputs = [
    { id: 'a', update: Float32Array.of(1, 2, -4), weight: 1 },
    { id: 'b', update: Float32Array.of(3, 2, 0), weight: 3 }
  ]
  assert.deepEqual([...weightedMean(inputs)], [2.5, 2, -1])
})

test('matches a float64 reference within float32 rounding', () => {
  const inputs = makeUpdates(12, 2000, 1)
  const got = weightedMean(inputs)
  const total = inputs.reduce((a, u) => a + u.weight, 0)
  for (let j = 0; j < 2000; j++) {
    const ref = inputs.reduce((a, u) => a + u.weight * u.update[j], 0) / total
    assert.ok(Math.abs(got[j] - ref) <= Math.abs(ref) * 2 ** -23 + 1e-12, `coordinate ${j}`)
  }
})

test('weights are renormalised over the updates actually included', () => {
  const all = makeUpdates(5, 100, 2)
  const included = all.slice(0, 3)
  const m = weightedMean(included)
  const w = included.reduce((a, u) => a + u.weight, 0)
  const ref = included.reduce((a, u) => a + u.weight * u.update[7], 0) / w
  assert.ok(Math.abs(m[7] - ref) < 1e-7)
})

test('permuting the arrival order gives identical bytes', () => {
  const inputs = makeUpdates(16, 3000, 3, { noise: 5 })
  const ref = weightedMean(inputs)
  fc.assert(fc.property(fc.integer(), seed => sameBytes(weightedMean(permute(inputs, seed)), ref)), { numRuns: 30 })
})

test('a streaming fold in id order equals the batch function bit for bit, and so does each coordinate alone', () => {
  const inputs = makeUpdates(9, 1000, 4)
  const sorted = canonicalInputs(permute(inputs, 1))
  const folder = new MeanFolder(1000)
  for (const u of sorted) folder.add(u.update, u.weight, u.id)
  const streamed = folder.result()
  assert.ok(sameBytes(streamed, weightedMean(inputs)))
  assert.equal(folder.count, 9)
  assert.equal(folder.totalWeight, inputs.reduce((a, u) => a + u.weight, 0))
  for (let j = 0; j < 1000; j++) assert.ok(Object.is(meanAt(sorted, j), streamed[j]))
})

test('the streaming fold refuses ids out of order or twice, and rejected updates leave it unchanged', () => {
  const f = new MeanFolder(2)
  f.add(Float32Array.of(1, 1), 1, 'b')
  assert.throws(() => f.add(Float32Array.of(5, 5), 1, 'a'), code(AggregateErrorCode.OutOfOrder))
  assert.throws(() => f.add(Float32Array.of(5, 5), 1, 'b'), code(AggregateErrorCode.DuplicateId))
  assert.throws(() => f.add(Float32Array.of(NaN, 5), 1, 'c'), code(AggregateErrorCode.NonFinite))
  assert.throws(() => f.add(Float32Array.of(1), 1, 'c'), code(AggregateErrorCode.LengthMismatch))
  assert.deepEqual([...f.result()], [1, 1])
  // byte ids order by bytes
  const g = new MeanFolder(1)
  g.add(Float32Array.of(1), 1, Uint8Array.of(1, 2))
  assert.throws(() => g.add(Float32Array.of(1), 1, Uint8Array.of(1)), code(AggregateErrorCode.OutOfOrder))
  g.add(Float32Array.of(3), 1, Uint8Array.of(1, 2, 0))
  assert.deepEqual([...g.result()], [2])
})

test('bad inputs fail with typed errors', () => {
  const ok = { id: 'a', update: Float32Array.of(1, 2), weight: 1 }
  assert.throws(() => weightedMean([]), code(AggregateErrorCode.NoUpdates))
  assert.throws(() => weightedMean([ok, { id: 'b', update: Float32Array.of(1), weight: 1 }]), code(AggregateErrorCode.LengthMismatch))
  assert.throws(() => weightedMean([ok, { id: 'b', update: Float32Array.of(1, Infinity), weight: 1 }]),
    (e: unknown) => code(AggregateErrorCode.NonFinite)(e) && (e as AggregateError).updateId === 'b')
  assert.throws(() => weightedMean([ok, { id: 'b', update: Float32Array.of(Infinity, -Infinity), weight: 1 }]), code(AggregateErrorCode.NonFinite))
  assert.throws(() => weightedMean([ok, { ...ok, weight: 2 }]), code(AggregateErrorCode.DuplicateId))
  assert.throws(() => weightedMean([{ ...ok, weight: -1 }]), code(AggregateErrorCode.BadWeight))
  assert.throws(() => weightedMean([{ ...ok, weight: NaN }]), code(AggregateErrorCode.BadWeight))
  assert.throws(() => weightedMean([{ ...ok, weight: 0 }, { id: 'b', update: Float32Array.of(0, 0), weight: 0 }]), code(AggregateErrorCode.ZeroTotalWeight))
  assert.throws(() => new MeanFolder(3).result(), code(AggregateErrorCode.NoUpdates))
  // a zero-weight update is legal and simply does not count
  assert.deepEqual([...weightedMean([ok, { id: 'b', update: Float32Array.of(9, 9), weight: 0 }])], [1, 2])
})
