// The node-side Gaussian mechanism: the clip bound, the noise scale, reproducibility from a
// seed, and refusal of settings or inputs that would release an unbounded update.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clipAndNoise, createPrivacySettings, PrivacyError, PrivacyErrorCode } from '../../src/privacy/index.js'
import { Rng } from '../../src/tensor/rng.js'

const l2 = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0))
const code = (c: string) => (e: unknown) => e instanceof PrivacyError && e.code === c

test('without noise: an update over the bound is scaled to clipNorm, one within it passes unchanged', () => {
  const big = Float32Array.from([3, 4]) // norm 5
  const r = clipAndNoise(big, { clipNorm: 1, noiseMultiplier: 0 }, new Rng(1))
  assert.equal(r.norm, 5)
  assert.equal(r.clipped, true)
  assert.deepEqual([...r.noised], [Math.fround(0.6), Math.fround(0.8)])
  assert.ok(Math.abs(l2(r.noised) - 1) < 1e-6)
  assert.deepEqual([...big], [3, 4], 'input untouched')
  const small = clipAndNoise(Float32Array.from([0.3, 0.4]), { clipNorm: 1, noiseMultiplier: 0 }, new Rng(1))
  assert.equal(small.clipped, false)
  assert.deepEqual([...small.noised], [Math.fround(0.3), Math.fround(0.4)])
  const zero = clipAndNoise(new Float32Array(3), { clipNorm: 1, noiseMultiplier: 0 }, new Rng(1))
  assert.deepEqual([zero.norm, zero.clipped, [...zero.noised]], [0, false, [0, 0, 0]])
})

test('the noise has mean 0 and std σ·C per coordinate over a large vector', () => {
  const n = 200_000
  const clipNorm = 0.5
  const noiseMultiplier = 1.3
  const r = clipAndNoise(new Float32Array(n), { clipNorm, noiseMultiplier }, new Rng('noise'))
  let sum = 0
  let sq = 0
  for (const x of r.noised) { sum += x; sq += x * x }
  const mean = sum / n
  const std = Math.sqrt(sq / n - mean * mean)
  const target = noiseMultiplier * clipNorm
  // std of the sample std ≈ target/√(2n) ≈ 0.0016·target: 1% is > 6 standard errors
  assert.ok(Math.abs(std / target - 1) < 0.01, `std ${std} vs ${target}`)
  assert.ok(Math.abs(mean) < 5 * target / Math.sqrt(n), `mean ${mean}`)
})

test('noised = clipped + σ·C·rng.normal() per coordinate in index order, so a seed reproduces it', () => {
  const u = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i))
  const opts = { clipNorm: 2, noiseMultiplier: 0.7 }
  const a = clipAndNoise(u, opts, new Rng(42))
  const b = clipAndNoise(u, opts, new Rng(42))
  assert.deepEqual(a.noised, b.noised)
  assert.notDeepEqual(a.noised, clipAndNoise(u, opts, new Rng(43)).noised)
  const rng = new Rng(42)
  const scale = Math.min(1, opts.clipNorm / a.norm)
  const expected = Float32Array.from(u, x => x * scale + 0.7 * 2 * rng.normal())
  assert.deepEqual(a.noised, expected)
})

test('NaN or ±Infinity in the update is ERR_PRIVACY_NON_FINITE; bad settings are ERR_PRIVACY_BAD_SETTING', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => clipAndNoise(Float32Array.from([1, bad]), { clipNorm: 1, noiseMultiplier: 1 }, new Rng(1)), code(PrivacyErrorCode.NON_FINITE))
  }
  for (const [clipNorm, noiseMultiplier] of [[0, 1], [-1, 1], [NaN, 1], [Infinity, 1], [1, -0.1], [1, NaN], [1, Infinity]]) {
    assert.throws(() => clipAndNoise(Float32Array.from([1]), { clipNorm, noiseMultiplier }, new Rng(1)), code(PrivacyErrorCode.BAD_SETTING), `${clipNorm}, ${noiseMultiplier}`)
  }
})

test('settings: defaults written once, out-of-range values refused with codes', () => {
  assert.deepEqual(createPrivacySettings({ clipNorm: 1, noiseMultiplier: 1.1 }), { clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5, sampleRate: 1 })
  assert.throws(() => createPrivacySettings({ clipNorm: 1, noiseMultiplier: 1, delta: 0 }), code(PrivacyErrorCode.BAD_DELTA))
  assert.throws(() => createPrivacySettings({ clipNorm: 1, noiseMultiplier: 1, sampleRate: 0 }), code(PrivacyErrorCode.BAD_SETTING))
  assert.throws(() => createPrivacySettings({ clipNorm: 0, noiseMultiplier: 1 }), code(PrivacyErrorCode.BAD_SETTING))
})
