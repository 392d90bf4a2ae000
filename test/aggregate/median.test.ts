// Tests of the coordinate-wise median: small cases, robustness to a minority of outliers, order independence.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { coordinateMedian, medianAt, canonicalInputs } from '../../src/aggregate/index.js'
import { makeUpdates, permute, sameBytes } from './helpers.js'

const u = (id: string, ...v: number[]): { id: string, update: Float32Array, weight: number } => ({ id, update: Float32Array.from(v), weight: 1 })

test('odd count takes the middle value, even count the mean of the two middle ones', () => {
  assert.deepEqual([...coordinateMedian([u('a', 1, 9), u('b', 5, -1), u('c', 3, 4)])], [3, 4])
  assert.deepEqual([...coordinateMedian([u('a', 1, 9), u('b', 5, -1), u('c', 3, 4), u('d', 4, 100)])], [3.5, 6.5])
})

test('ignores sample weights (a claimed weight cannot move it)', () => {
  const a = coordinateMedian([u('a', 1), u('b', 2), u('c', 3)])
  const b = coordinateMedian([{ ...u('a', 1), weight: 1e9 }, u('b', 2), u('c', 3)])
  assert.ok(sameBytes(a, b))
})

test('a minority of huge outliers barely moves it', () => {
  const honest = makeUpdates(11, 500, 5)
  const evil = [0, 1, 2, 3, 4].map(i => ({ id: `evil${i}`, update: new Float32Array(500).fill(1e6), weight: 1 }))
  const clean = coordinateMedian(honest)
  const attacked = coordinateMedian([...honest, ...evil])
  let maxHonest = 0
  for (const h of honest) for (const v of h.update) maxHonest = Math.max(maxHonest, Math.abs(v))
  for (let j = 0; j < 500; j++) assert.ok(Math.abs(attacked[j]) <= maxHonest && Math.abs(attacked[j] - clean[j]) < maxHonest)
})

test('permuting arrival order gives identical bytes; coordinates alone match the full fold', () => {
  for (const n of [7, 8]) {
    const inputs = makeUpdates(n, 800, 6 + n)
    const ref = coordinateMedian(inputs)
    for (let s = 0; s < 5; s++) assert.ok(sameBytes(coordinateMedian(permute(inputs, s)), ref))
    const sorted = canonicalInputs(inputs)
    for (let j = 0; j < 800; j++) assert.ok(Object.is(medianAt(sorted, j), ref[j]))
  }
})

test('−0 and +0 are treated alike whatever the order', () => {
  const a = coordinateMedian([u('a', -0), u('b', 0)])
  const b = coordinateMedian([u('b', 0), u('a', -0)])
  assert.ok(sameBytes(a, b))
  assert.ok(Object.is(a[0], 0))
})
