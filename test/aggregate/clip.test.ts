// Tests of norm clipping: bound respected, direction kept, unclipped updates untouched, median-relative bound.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clipToNorm, clipInputs, clipBound, l2Norm, AggregateError, AggregateErrorCode } from '../../src/aggregate/index.js'
import { makeUpdates } from './helpers.js'

const code = (c: AggregateErrorCode) => (e: unknown) => e instanceof AggregateError && e.code === c

test('clipToNorm scales a long update to the bound and keeps its direction', () => {
  const u = Float32Array.of(3, 4)
  const c = clipToNorm(u, 1)
  assert.ok(Math.abs(l2Norm(c) - 1) < 1e-7)
  assert.ok(Math.abs(c[0] / c[1] - 0.75) < 1e-6)
  assert.deepEqual([...u], [3, 4], 'input untouched')
  assert.equal(clipToNorm(u, 5), u, 'within the bound: the same array, no copy')
})

test('fixed-norm clipping bounds every update', () => {
  const inputs = makeUpdates(10, 500, 12, { noise: 3 })
  const clipped = clipInputs(inputs, { kind: 'norm', maxNorm: 0.1 })
  for (const c of clipped) assert.ok(l2Norm(c.update) <= 0.1 * (1 + 1e-6))
  assert.deepEqual(clipped.map(c => [c.id, c.weight]), inputs.map(c => [c.id, c.weight]))
})

test('median-norm clipping caps outliers at a multiple of the median norm', () => {
  const inputs = makeUpdates(7, 300, 13)
  const huge = { id: 'huge', update: new Float32Array(300).fill(100), weight: 1 }
  const all = [...inputs, huge]
  const norms = all.map(u => l2Norm(u.update))
  const bound = clipBound(norms, { kind: 'median-norm', multiple: 2 })
  const sortedNorms = [...norms].sort((a, b) => a - b)
  assert.equal(bound, 2 * (sortedNorms[3] + sortedNorms[4]) / 2)
  const clipped = clipInputs(all, { kind: 'median-norm', multiple: 2 })
  assert.ok(l2Norm(clipped[7].update) <= bound * (1 + 1e-6))
  // honest updates lie within twice the median and pass through uncopied
  for (let i = 0; i < 7; i++) assert.equal(clipped[i].update, inputs[i].update)
})

test('bad clip parameters fail with ERR_AGGREGATE_BAD_PARAMETER', () => {
  const inputs = makeUpdates(3, 5, 14)
  for (const maxNorm of [0, -1, NaN, Infinity]) assert.throws(() => clipInputs(inputs, { kind: 'norm', maxNorm }), code(AggregateErrorCode.BadParameter))
  assert.throws(() => clipInputs(inputs, { kind: 'median-norm', multiple: 0 }), code(AggregateErrorCode.BadParameter))
  assert.throws(() => clipToNorm(Float32Array.of(1), -1), code(AggregateErrorCode.BadParameter))
})
