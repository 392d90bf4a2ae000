// The RDP accountant against published numbers: the Gaussian closed form, Opacus' test and
// docstring values, dp-accounting's test values, the TF Privacy MNIST tutorial, and a direct
// numerical integration of A_alpha; then the monotonicity any accountant must have.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  DEFAULT_ORDERS, rdpSampledGaussian, computeRdp, logA, epsilonFromRdp, epsilonFromRdpClassic,
  RdpAccountant, epsilonFor, PrivacyError, PrivacyErrorCode
} from '../../src/privacy/index.js'
import { logErfc } from '../../src/privacy/log-math.js'

const close = (actual: number, expected: number, rtol: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= rtol * Math.abs(expected), `${what}: ${actual} vs ${expected} (rtol ${rtol})`)
}

test('log erfc matches reference values of erfc, and its tail where erfc underflows', () => {
  // erfc values as tabulated (Abramowitz & Stegun 7.1; 17 digits from mpmath)
  const table: Array<[number, number]> = [
    [-1, 1.8427007929497148], [0.5, 0.4795001221869535], [1, 0.15729920705028513], [2, 0.004677734981047266],
    [3, 2.209049699858544e-5], [5, 1.5374597944280349e-12], [10, 2.088487583762545e-45]
  ]
  for (const [x, v] of table) close(Math.exp(logErfc(x)), v, 1e-13, `erfc(${x})`)
  // x = 40: erfc = 1e-697 underflows; asymptotic e^{-x²}/(x√π)·(1 − 1/2x² + 3/4x⁴ − 15/8x⁶) is exact to ~1e-11
  const x = 40
  const asym = -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log(1 - 1 / (2 * x * x) + 3 / (4 * x ** 4) - 15 / (8 * x ** 6))
  close(logErfc(x), asym, 1e-14, 'log erfc(40)')
})

test('default orders are Opacus\' [1 + x/10 for x in 1..99] + range(12, 64)', () => {
  assert.equal(DEFAULT_ORDERS.length, 151)
  assert.equal(DEFAULT_ORDERS[0], 1.1)
  assert.equal(DEFAULT_ORDERS[98], 10.9)
  assert.equal(DEFAULT_ORDERS[99], 12)
  assert.equal(DEFAULT_ORDERS.at(-1), 63)
})

test('q = 1 is the plain Gaussian mechanism: RDP = α / 2σ², and composition adds', () => {
  for (const [sigma, alpha] of [[2.71828, 3.14159], [1, 2], [0.5, 63], [10, 1.1]]) {
    close(rdpSampledGaussian(1, sigma, alpha), alpha / (2 * sigma * sigma), 1e-15, `σ=${sigma} α=${alpha}`)
  }
  // dp-accounting test_rdp_composition: 6 releases = 6 × one
  const one = computeRdp(1, 3.14159, 1, [2.71828])[0]
  close(computeRdp(1, 3.14159, 6, [2.71828])[0], 6 * one, 1e-15, 'six releases')
  // closed form of ε for q = 1 at a given order: α/2σ²·T − (log δ + log α)/(α − 1) + log((α − 1)/α)
  const sigma = 3; const T = 10; const delta = 1e-5; const orders = [2, 4, 8, 16, 32]
  const expected = Math.min(...orders.map(a => a * T / (2 * sigma * sigma) - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a)))
  close(epsilonFor({ noiseMultiplier: sigma, steps: T, delta, orders }).epsilon, expected, 1e-15, 'Gaussian ε')
})

test('dp-accounting test_compute_epsilon_delta_gaussian: σ = 4.530877117 at q = 1 is (1, 1e-6)-DP', () => {
  // orders 0.001·i, i in 1000..99999 upstream; order 1 itself gives no bound there either
  const orders = Array.from({ length: 99000 - 11 }, (_, i) => 0.001 * (i + 1011))
  const { epsilon } = epsilonFromRdp(orders, computeRdp(1, 4.530877117, 1, orders), 1e-6)
  assert.ok(Math.abs(epsilon - 1) < 5e-8, `ε = ${epsilon}, upstream assertAlmostEqual(eps, 1) (7 places)`)
})

test('dp-accounting test_compute_epsilon_delta_pure_dp: constant RDP 1.1 on orders 2..32 → ε 1.32783806176 at order 32', () => {
  const orders = Array.from({ length: 31 }, (_, i) => i + 2)
  const { epsilon, order } = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5)
  assert.ok(Math.abs(epsilon - 1.32783806176) < 5e-8, `ε = ${epsilon}`)
  assert.equal(order, 32)
})

test('Opacus accountants_test.test_rdp_accountant: σ 1.5, q 0.04, 2250 steps, δ 1e-5 → ε 7.32911117143', () => {
  // upstream: assertAlmostEqual(epsilon, 7.32911117143) = 7 decimal places; the optimum is
  // the fractional order 3.9, so this pins the fractional series, not just the integer one
  const acc = new RdpAccountant()
  for (let i = 0; i < Math.trunc(90 / 0.04); i++) acc.step(1.5, 0.04)
  const { epsilon, order } = acc.epsilon(1e-5)
  assert.ok(Math.abs(epsilon - 7.32911117143) < 5e-8, `ε = ${epsilon}`)
  assert.equal(order, 3.9)
  assert.deepEqual(acc.history(), [{ noiseMultiplier: 1.5, sampleRate: 0.04, steps: 2250 }])
})

test('Opacus rdp.py docstring: [(q 1e-5, σ 1, 10 steps), (q 1e-4, σ 3, 4 steps)], orders 2..32, δ 1e-5 → (0.336, 23)', () => {
  const orders = Array.from({ length: 31 }, (_, i) => i + 2)
  const acc = new RdpAccountant(orders).step(1.0, 1e-5, 10).step(3.0, 1e-4, 4)
  const { epsilon, order } = acc.epsilon(1e-5)
  // the doctest prints 3 decimals (+NUMBER), so ±0.0005
  assert.ok(Math.abs(epsilon - 0.336) <= 0.0005, `ε = ${epsilon}`)
  assert.equal(order, 23)
})

test('dp-accounting test_compute_rdp_poisson_sampled_gaussian: q 0.01, σ 2.5, 50 steps', () => {
  const orders = [1.5, 2.5, 5, 50, 100, Infinity]
  const rdp = computeRdp(0.01, 2.5, 50, orders)
  // upstream np.allclose(..., rtol=1e-4) on these values
  const published = [6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02, 1.67416308e02]
  for (let k = 1; k < 5; k++) close(rdp[k], published[k], 1e-4, `order ${orders[k]}`)
  assert.equal(rdp[5], Infinity)
  // order 1.5: dp-accounting adds the magnitudes of the negative binomial terms (an upper
  // bound); the signed series (Opacus) is the exact A_α, checked by integration below
  assert.ok(rdp[0] < published[0])
  close(rdp[0], 6.500708971878545e-4, 1e-8, 'order 1.5 against the integral')
})

test('log A_α equals direct numerical integration of ∫ μ0(z) ((1−q) + q·e^{(2z−1)/2σ²})^α dz', () => {
  for (const [q, sigma, alpha] of [[0.01, 2.5, 1.5], [0.01, 2.5, 2.5], [0.04, 1.5, 3.9], [0.1, 1, 7.3], [0.3, 2, 12], [1e-4, 1, 1.5], [0.6, 0.5, 1.5], [0.1, 1.1, 1.1]]) {
    close(logA(q, sigma, alpha), logAByQuadrature(q, sigma, alpha), 1e-7, `q=${q} σ=${sigma} α=${alpha}`)
  }
})

test('TF Privacy MNIST tutorial table: σ 1.12, q 256/60000, 60 epochs, δ 1e-5 → ε 2.92 with the classic conversion', () => {
  // tensorflow/privacy tutorials/README.md, "Select Parameters", first row (the default
  // setting): noise multiplier 1.12, 256 microbatches, 60 epochs → "Privacy eps 2.92" at
  // δ = 1e-5, printed with two decimals (so ±0.005) and computed by the pre-2021
  // rdp_accountant, i.e. the classic conversion on these same default orders.
  // Steps = ⌊60 · 60000 / 256⌋ = 14062 (60 × ⌊60000/256⌋ = 14040 also rounds to 2.92).
  const acc = new RdpAccountant().step(1.12, 256 / 60000, Math.floor(60 * 60000 / 256))
  const classic = epsilonFromRdpClassic(acc.orders, acc.rdp(), 1e-5)
  assert.ok(Math.abs(classic.epsilon - 2.92) <= 0.005, `classic ε = ${classic.epsilon}`)
  // the improved (reported) conversion is never worse: 2.519 here
  const improved = acc.epsilon(1e-5).epsilon
  assert.ok(improved < classic.epsilon && Math.abs(improved - 2.5186) < 1e-3, `ε = ${improved}`)
})

test('ε grows with steps and with the sample rate, and shrinks with noise (property)', () => {
  const orders = [1.5, 2, 3, 5, 8, 16, 32, 63]
  fc.assert(fc.property(
    fc.double({ min: 0.5, max: 5, noNaN: true }), fc.double({ min: 1e-3, max: 1, noNaN: true }),
    fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 500 }),
    (sigma, q, t1, extra) => {
      const eps = (s: number, r: number, t: number): number => epsilonFor({ noiseMultiplier: s, sampleRate: r, steps: t, delta: 1e-5, orders }).epsilon
      const base = eps(sigma, q, t1)
      assert.ok(eps(sigma, q, t1 + extra) >= base, 'more steps')
      assert.ok(eps(sigma * 1.25, q, t1) <= base, 'more noise')
      assert.ok(eps(sigma, Math.min(1, q * 1.5), t1) >= base, 'higher sample rate')
    }), { seed: 11, numRuns: 60 })
})

test('edge cases follow Opacus: q = 0 costs nothing, σ = 0 gives no bound', () => {
  assert.equal(rdpSampledGaussian(0, 1, 2), 0)
  assert.equal(epsilonFor({ noiseMultiplier: 1, sampleRate: 0, steps: 10, delta: 1e-5 }).epsilon, 0)
  const none = epsilonFor({ noiseMultiplier: 0, steps: 1, delta: 1e-5 })
  assert.equal(none.epsilon, Infinity)
  assert.ok(Number.isNaN(none.order))
  assert.equal(new RdpAccountant().epsilon(1e-5).epsilon, 0)
})

test('bad settings, orders and deltas are refused with their codes', () => {
  const code = (c: string) => (e: unknown) => e instanceof PrivacyError && e.code === c
  assert.throws(() => rdpSampledGaussian(1.5, 1, 2), code(PrivacyErrorCode.BAD_SETTING))
  assert.throws(() => rdpSampledGaussian(NaN, 1, 2), code(PrivacyErrorCode.BAD_SETTING))
  assert.throws(() => rdpSampledGaussian(0.1, -1, 2), code(PrivacyErrorCode.BAD_SETTING))
  assert.throws(() => rdpSampledGaussian(0.1, NaN, 2), code(PrivacyErrorCode.BAD_SETTING))
  assert.throws(() => new RdpAccountant().step(1, 0.1, 1.5), code(PrivacyErrorCode.BAD_SETTING))
  assert.throws(() => new RdpAccountant().step(1, 0.1, -1), code(PrivacyErrorCode.BAD_SETTING))
  assert.throws(() => rdpSampledGaussian(0.1, 1, 1), code(PrivacyErrorCode.BAD_ORDERS))
  assert.throws(() => new RdpAccountant([]), code(PrivacyErrorCode.BAD_ORDERS))
  assert.throws(() => new RdpAccountant([2, NaN]), code(PrivacyErrorCode.BAD_ORDERS))
  assert.throws(() => epsilonFromRdp([2, 3], [1], 1e-5), code(PrivacyErrorCode.BAD_ORDERS))
  assert.throws(() => epsilonFromRdp([2], [NaN], 1e-5), code(PrivacyErrorCode.BAD_ORDERS))
  for (const d of [0, 1, -1e-5, NaN]) assert.throws(() => new RdpAccountant().epsilon(d), code(PrivacyErrorCode.BAD_DELTA))
})

test('an accountant rebuilt from its history gives the same ε', () => {
  const a = new RdpAccountant().step(1.2).step(1.2).step(0.8, 0.5, 3).step(0.8, 0.5)
  assert.deepEqual(a.history(), [{ noiseMultiplier: 1.2, sampleRate: 1, steps: 2 }, { noiseMultiplier: 0.8, sampleRate: 0.5, steps: 4 }])
  const b = new RdpAccountant(a.orders, a.history())
  assert.deepEqual(b.epsilon(1e-6), a.epsilon(1e-6))
})

/** log A_α by composite Simpson over ±40σ, integrating A − 1 so small values keep their digits. */
function logAByQuadrature (q: number, s: number, a: number): number {
  const L = 40 * s
  const n = 200000
  const h = 2 * L / n
  let sum = 0
  for (let k = 0; k <= n; k++) {
    const z = -L + k * h
    const mu = Math.exp(-z * z / (2 * s * s)) / (s * Math.sqrt(2 * Math.PI))
    const f = mu * Math.expm1(a * Math.log1p(q * Math.expm1((2 * z - 1) / (2 * s * s))))
    sum += f * (k === 0 || k === n ? 1 : k % 2 === 1 ? 4 : 2)
  }
  return Math.log1p(sum * h / 3)
}
