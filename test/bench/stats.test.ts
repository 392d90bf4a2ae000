// The benches' sample statistics.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spread } from '../../bench/stats.js'

describe('bench stats', () => {
  it('gives median, min and max of an odd sample, in any order', () => {
    assert.deepEqual(spread([5, 1, 3]), { median: 3, min: 1, max: 5 })
  })
  it('takes the mean of the middle pair of an even sample', () => {
    assert.deepEqual(spread([4, 1, 2, 10]), { median: 3, min: 1, max: 10 })
  })
  it('is NaN for an empty sample and leaves its input alone', () => {
    const xs = [2, 1]
    spread(xs)
    assert.deepEqual(xs, [2, 1])
    assert.ok(Number.isNaN(spread([]).median))
  })
})
