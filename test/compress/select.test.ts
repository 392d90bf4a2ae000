// Top-k selection: the radix select and the fused error-feedback pass against the sort-based
// reference, on generated vectors full of ties, zeros, signed zeros and subnormals.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { selectTopk, selectAmong, createScratch, maxTopk, topkCount } from '../../src/compress/select.js'
import { referenceTopk } from '../../src/compress/select-reference.js'
import { accumulateTopk, FUSED_MIN_ELEMENTS } from '../../src/compress/select-fused.js'
import type { TopkSpec } from '../../src/compress/spec.js'
import { Rng } from '../../src/tensor/rng.js'
import { gaussian } from './helpers.js'

/** Floats drawn from a small pool so that ties are common, plus the awkward bit patterns. */
const floatArb = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, -0.5, 1e-40, -1e-40, 3.4e38, -3.4e38, 2 ** -149),
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -4, max: 4 }).map(i => i / 4)
)
const topkArb = fc.record({
  fraction: fc.double({ min: 0.001, max: 1, noNaN: true }),
  chunk: fc.option(fc.integer({ min: 16, max: 200 }), { nil: undefined })
})

test('topkCount rounds half up and keeps at least one', () => {
  assert.equal(topkCount(0.01, 100), 1)
  assert.equal(topkCount(0.01, 149), 1)
  assert.equal(topkCount(0.01, 150), 2)
  assert.equal(topkCount(0.07, 100), 7) // 0.07·100 = 7.000000000000001 in doubles: no ceil surprise
  assert.equal(topkCount(1e-9, 10), 1)
  assert.equal(topkCount(1, 10), 10)
  assert.equal(topkCount(0.5, 0), 0)
  assert.equal(maxTopk({ fraction: 0.1, chunk: 16 }, 40), 2 + 2 + 1)
  assert.equal(maxTopk({ fraction: 0.1, chunk: 64 }, 40), 4)
})

test('radix select equals the sort-based reference (property)', () => {
  fc.assert(fc.property(fc.array(floatArb, { minLength: 0, maxLength: 600 }), topkArb, (values, topk) => {
    const x = Float32Array.from(values)
    assert.deepEqual(selectTopk(x, topk), referenceTopk(x, topk))
  }), { seed: 1, numRuns: 400 })
})

test('selectAmong: sort path (≤ 512 candidates) and radix path agree with a sort (property)', () => {
  const magArb = fc.oneof(fc.integer({ min: 0, max: 0x7f800000 }), fc.constantFrom(0, 1, 0x3f800000, 0x3f800001, 0x7f7fffff))
  fc.assert(fc.property(fc.array(magArb, { minLength: 1, maxLength: 1500 }), fc.integer({ min: 1, max: 1500 }), fc.boolean(), (m, kRaw, useScratch) => {
    const c = m.length
    const k = 1 + (kRaw % c)
    const mags = Uint32Array.from(m)
    const cand = Uint32Array.from(m, (_, j) => 3 * j + 1)
    const want = [...m.keys()].sort((a, b) => (m[b] - m[a]) || (a - b)).slice(0, k).sort((a, b) => a - b).map(j => cand[j])
    const out = new Uint32Array(k)
    assert.equal(selectAmong(mags, cand, c, k, out, 0, useScratch ? createScratch(c) : undefined), k)
    assert.deepEqual([...out], want)
  }), { seed: 6, numRuns: 300 })
})

test('radix select equals the reference on large Gaussian and tie-heavy vectors', () => {
  const rng = new Rng(3)
  const cases: Array<[Float32Array, TopkSpec]> = [
    [gaussian(50_000, 11), { fraction: 0.01, chunk: undefined }],
    [gaussian(50_000, 12), { fraction: 0.03, chunk: 4096 }],
    [Float32Array.from({ length: 30_000 }, () => rng.int(5) - 2), { fraction: 0.1, chunk: undefined }],
    [new Float32Array(20_000).fill(0.25), { fraction: 0.01, chunk: undefined }],
    [new Float32Array(20_000), { fraction: 0.02, chunk: 1000 }]
  ]
  for (const [x, topk] of cases) assert.deepEqual(selectTopk(x, topk), referenceTopk(x, topk))
})

test('fused accumulate+select equals the reference and writes acc = vector + residual', () => {
  const n = FUSED_MIN_ELEMENTS * 2 + 123
  const rng = new Rng(4)
  const ties = Float32Array.from({ length: n }, () => rng.int(7) - 3)
  const spiky = gaussian(n, 21)
  for (let i = 0; i < n; i += 997) spiky[i] *= 1000
  const vectors: Array<[string, Float32Array, Float32Array | undefined]> = [
    ['gaussian', gaussian(n, 5), undefined],
    ['gaussian + residual', gaussian(n, 6), gaussian(n, 7, 0.3)],
    ['integer ties', ties, undefined],
    ['all equal', new Float32Array(n).fill(-2), undefined],
    ['all zero', new Float32Array(n), undefined],
    ['spiky', spiky, gaussian(n, 8, 0.01)],
    ['sorted ramp', Float32Array.from({ length: n }, (_, i) => i / n), undefined]
  ]
  for (const fraction of [0.001, 0.01, 0.03, 0.2]) {
    for (const [name, v, r] of vectors) {
      const acc = new Float32Array(n)
      const { indices, values, nonFinite } = accumulateTopk(v, r, acc, fraction)
      assert.equal(nonFinite, false)
      if (indices !== undefined) assert.deepEqual(values, Float32Array.from(indices, i => acc[i]))
      const expectAcc = Float32Array.from(v, (x, i) => x + (r?.[i] ?? 0))
      assert.deepEqual(acc, expectAcc, name)
      const topk = { fraction, chunk: undefined }
      // undefined means "fall back to selectTopk on acc": the answer is then that function's
      assert.deepEqual(indices ?? selectTopk(acc, topk), referenceTopk(expectAcc, topk), `${name} f=${fraction}`)
    }
  }
})

test('fused pass reports NaN and ±Inf', () => {
  const n = FUSED_MIN_ELEMENTS + 1
  for (const bad of [NaN, Infinity, -Infinity]) {
    const v = gaussian(n, 9)
    v[n - 1] = bad
    assert.equal(accumulateTopk(v, undefined, new Float32Array(n), 0.01).nonFinite, true)
    const r = new Float32Array(n)
    r[7] = bad
    assert.equal(accumulateTopk(gaussian(n, 9), r, new Float32Array(n), 0.01).nonFinite, true)
  }
  // finite + finite can overflow float32
  const v = new Float32Array(n).fill(3e38)
  assert.equal(accumulateTopk(v, v, new Float32Array(n), 0.01).nonFinite, true)
})
