// RDP → (ε, δ): the step that turns the accountant's per-order curve into the one number a
// run reports. Both bounds are minimised over the order list; the order that wins is returned
// so a second implementation can check it reproduces the same minimum, not just a near one.
import { PrivacyError, PrivacyErrorCode } from './errors.js'
import { checkOrders } from './rdp.js'

export interface EpsilonResult {
  /** the smallest ε over the orders; Infinity when no order gives a bound */
  readonly epsilon: number
  /** the order that gives it; NaN when epsilon is Infinity */
  readonly order: number
}

/**
 * ε = min over α of rdp(α) − (log δ + log α)/(α − 1) + log((α − 1)/α): the conversion of
 * Balle et al. 2020 ("Hypothesis testing interpretations and Rényi DP", arXiv:1905.09982,
 * Thm. 21), which Opacus `get_privacy_spent` and dp-accounting `compute_epsilon` use. It is
 * never worse than the classic bound and is what Tapestry reports. Clamped at 0 (an
 * (ε, δ) bound with ε < 0 says nothing more than ε = 0). Ties go to the first order listed.
 */
export function epsilonFromRdp (orders: readonly number[], rdp: readonly number[], delta: number): EpsilonResult {
  check(orders, rdp, delta)
  const logDelta = Math.log(delta)
  // As dp-accounting does: when δ ≥ √(1 − e^{−rdp}) the KL (α → 1) bound already gives ε = 0;
  // RDP at any order ≥ 1 bounds KL from above, so checking the recorded orders is sound.
  // Only matters for almost-free accounts (no steps, q ≈ 0), where Opacus would print ε > 0.
  return minimise(orders, rdp, (a, r) => delta * delta + Math.expm1(-r) > 0
    ? 0
    : r - (logDelta + Math.log(a)) / (a - 1) + Math.log((a - 1) / a))
}

/**
 * ε = min over α of rdp(α) − log δ / (α − 1) (Mironov 2017, Prop. 3): the bound that TF
 * Privacy and Opacus used before 2021. Kept to reproduce epsilons published with those
 * versions (e.g. the TF Privacy MNIST tutorial), not for reporting.
 */
export function epsilonFromRdpClassic (orders: readonly number[], rdp: readonly number[], delta: number): EpsilonResult {
  check(orders, rdp, delta)
  const logDelta = Math.log(delta)
  return minimise(orders, rdp, (a, r) => r - logDelta / (a - 1))
}

function minimise (orders: readonly number[], rdp: readonly number[], bound: (a: number, r: number) => number): EpsilonResult {
  let best = Infinity
  let bestOrder = NaN
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k]
    const r = rdp[k]
    // an infinite order or RDP gives no bound (and Infinity − Infinity would be NaN)
    if (!(r < Infinity) || a === Infinity) continue
    const eps = bound(a, r)
    if (eps < best) {
      best = eps
      bestOrder = a
    }
  }
  return { epsilon: best === Infinity ? Infinity : Math.max(0, best), order: bestOrder }
}

function check (orders: readonly number[], rdp: readonly number[], delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new PrivacyError(PrivacyErrorCode.BAD_DELTA, `delta must be in (0, 1), got ${delta}`, { delta })
  checkOrders(orders)
  if (orders.length !== rdp.length) {
    throw new PrivacyError(PrivacyErrorCode.BAD_ORDERS, `${orders.length} orders but ${rdp.length} RDP values`, { orders: orders.length, rdp: rdp.length })
  }
  for (const r of rdp) {
    if (!(r >= 0)) throw new PrivacyError(PrivacyErrorCode.BAD_ORDERS, `RDP values must be ≥ 0 (Infinity allowed), got ${r}`, { rdp: r })
  }
}
