// The update screen: before any fold rule sees them, updates that are not finite or whose norm is
// far above the round's median are refused, so one ×10 or pure-noise update cannot steer a mean.
import { AggregateError, AggregateErrorCode } from './errors.js'

/** Fewest updates for which the screen acts: with two, "far above the median" means nothing. */
export const SCREEN_MIN_INPUTS = 3

/**
 * Which of a set's updates the screen refuses, by their L2 norms (NaN for one that does not
 * decode): a non-finite norm always; with at least SCREEN_MIN_INPUTS finite norms, a norm over
 * `ratio` × their median (the mean of the two middle ones for an even count, in float64). Order
 * does not matter; `ratio` 0 turns the norm test off. Pure: verifiers recompute it.
 */
export function screenByNorm (norms: readonly number[], ratio: number): boolean[] {
  if (!(Number.isFinite(ratio) && ratio >= 0)) throw new AggregateError(AggregateErrorCode.BadParameter, `screen ratio must be finite and ≥ 0, got ${ratio}`)
  const finite = Float64Array.from(norms.filter(n => Number.isFinite(n))).sort()
  let bound = Infinity
  if (ratio > 0 && finite.length >= SCREEN_MIN_INPUTS) {
    const mid = finite.length >> 1
    bound = ratio * (finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2)
  }
  return norms.map(n => !Number.isFinite(n) || n > bound)
}
