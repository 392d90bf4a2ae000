// Rényi DP of the (Poisson-)subsampled Gaussian mechanism, per Mironov, Talwar & Zhang 2019
// ("Rényi Differential Privacy of the Sampled Gaussian Mechanism", arXiv:1908.10530, §3.3);
// the same series as Opacus `opacus/accountants/analysis/rdp.py` and Google's dp-accounting
// `rdp_privacy_accountant.py`, so an epsilon printed here can be checked against either.
import { logAdd, logSub, logErfc } from './log-math.js'
import { PrivacyError, PrivacyErrorCode, requireSetting } from './errors.js'

/**
 * Opacus' default orders, `[1 + x / 10 for x in 1..99] + range(12, 64)`: dense near 1 where
 * small epsilons are optimal, sparse above, up to 63 which large epsilons need.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i)
])

/** The fractional-order series gives up after this many terms and returns no bound (Infinity). */
const MAX_FRAC_TERMS = 20000

/**
 * RDP at `order` of one release of the sampled Gaussian mechanism with sampling rate `q`
 * and noise multiplier `sigma` (noise std / L2 sensitivity). Infinity means "no bound at
 * this order", never an error: sigma = 0 is a release without noise.
 */
export function rdpSampledGaussian (q: number, sigma: number, order: number): number {
  checkMechanism(q, sigma)
  checkOrder(order)
  if (q === 0) return 0
  if (sigma === 0 || order === Infinity) return Infinity
  // no subsampling: the plain Gaussian mechanism's closed form (Mironov 2017, Prop. 7)
  if (q === 1) return order / (2 * sigma * sigma)
  if (Number.isInteger(order)) return logAInt(q, sigma, order) / (order - 1)
  const frac = logAFrac(q, sigma, order)
  if (frac < Infinity) return frac / (order - 1)
  // The fractional series failed (large q with small σ: slowly decaying alternating terms).
  // Rényi divergence does not decrease with the order, so the next integer order's exact
  // value is a valid, slightly loose bound — better than dropping the order, and never low.
  const up = Math.ceil(order)
  return logAInt(q, sigma, up) / (up - 1)
}

/** RDP at every order of `steps` compositions of the same release (RDP adds up). */
export function computeRdp (q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): number[] {
  requireSetting(Number.isInteger(steps) && steps >= 0, 'steps', steps, 'an integer ≥ 0')
  checkOrders(orders)
  return orders.map(a => steps === 0 ? 0 : rdpSampledGaussian(q, sigma, a) * steps)
}

/** log A_alpha, integer or fractional, 0 < q < 1. */
export function logA (q: number, sigma: number, order: number): number {
  return Number.isInteger(order) ? logAInt(q, sigma, order) : logAFrac(q, sigma, order)
}

/**
 * Integer alpha: A = Σ_{i=0..α} C(α,i) q^i (1−q)^{α−i} exp((i²−i) / 2σ²), a finite sum of
 * positive terms, accumulated with log-sum-exp.
 */
export function logAInt (q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoS2 = 2 * sigma * sigma
  let logA = -Infinity
  let logBinom = 0 // log C(α, 0)
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i)
    logA = logAdd(logA, logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoS2)
  }
  return logA
}

/**
 * Fractional alpha: A splits at z0 = σ² log(1/q − 1) + 1/2 into two integrals, each a series
 * in the generalised binomial C(α,i) whose sign alternates once i > α + 1. Stops, as Opacus
 * does, once both new terms are below e^−30 (A ≥ 1, so that is relative to the total).
 * Partial sums are kept signed: with small σ the alternating terms decay slowly and a partial
 * sum can dip below zero on the way, where Opacus' `_log_sub` raises. A series that does not
 * settle in MAX_FRAC_TERMS terms, or ends non-positive, yields Infinity (rdpSampledGaussian
 * then bounds the order by the next integer one) rather than a bound that could be too small.
 */
export function logAFrac (q: number, sigma: number, alpha: number): number {
  const a0: Signed = { sign: 1, log: -Infinity }
  const a1: Signed = { sign: 1, log: -Infinity }
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoS2 = 2 * sigma * sigma
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5
  const rootTwoSigma = Math.SQRT2 * sigma
  let logCoef = 0 // log |C(α, i)|
  let coefSign = 1
  for (let i = 0; i < MAX_FRAC_TERMS; i++) {
    if (i > 0) {
      const ratio = (alpha - i + 1) / i
      if (ratio < 0) coefSign = -coefSign
      logCoef += Math.log(Math.abs(ratio))
    }
    const j = alpha - i
    const logT0 = logCoef + i * logQ + j * log1mQ
    const logT1 = logCoef + j * logQ + i * log1mQ
    const logE0 = Math.log(0.5) + logErfc((i - z0) / rootTwoSigma)
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / rootTwoSigma)
    const logS0 = logT0 + (i * i - i) / twoS2 + logE0
    const logS1 = logT1 + (j * j - j) / twoS2 + logE1
    addSigned(a0, coefSign, logS0)
    addSigned(a1, coefSign, logS1)
    if (Math.max(logS0, logS1) < -30) {
      if (a0.sign < 0 || a1.sign < 0) return Infinity // each integral is positive: rounding lost it
      return logAdd(a0.log, a1.log)
    }
  }
  return Infinity
}

/** A real number as sign and log magnitude; log −Infinity is 0. */
interface Signed { sign: 1 | -1, log: number }

/** acc += sign · e^log, in place */
function addSigned (acc: Signed, sign: number, log: number): void {
  if (log === -Infinity) return
  if (acc.log === -Infinity || acc.sign === sign) {
    acc.log = logAdd(acc.log, log)
    acc.sign = sign < 0 ? -1 : 1
  } else if (acc.log >= log) {
    acc.log = logSub(acc.log, log)
  } else {
    acc.log = logSub(log, acc.log)
    acc.sign = sign < 0 ? -1 : 1
  }
}

function checkMechanism (q: number, sigma: number): void {
  requireSetting(q >= 0 && q <= 1, 'sampleRate', q, 'in [0, 1]')
  requireSetting(sigma >= 0 && sigma < Infinity, 'noiseMultiplier', sigma, 'finite and ≥ 0')
}

function checkOrder (order: number): void {
  if (!(order > 1)) throw new PrivacyError(PrivacyErrorCode.BAD_ORDERS, `RDP orders must be > 1, got ${order}`, { order })
}

/** A usable order list: non-empty, every order > 1 (Infinity allowed). */
export function checkOrders (orders: readonly number[]): void {
  if (orders.length === 0) throw new PrivacyError(PrivacyErrorCode.BAD_ORDERS, 'the RDP order list is empty')
  for (const a of orders) checkOrder(a)
}
