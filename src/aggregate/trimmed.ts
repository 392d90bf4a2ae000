// Coordinate-wise trimmed mean: drop the β-fraction extremes on each side, average the rest.
import { AggregateError, AggregateErrorCode } from './errors.js'
import { canonicalInputs, type UpdateInput } from './input.js'
import { sortedColumn } from './column.js'

/**
 * How many values are dropped on each side: ⌊β·n⌋. Throws unless 0 ≤ β < 0.5 and at
 * least one value is left.
 */
export function trimCount (n: number, beta: number): number {
  if (typeof beta !== 'number' || !(beta >= 0 && beta < 0.5)) {
    throw new AggregateError(AggregateErrorCode.BadParameter, `trim fraction β must be in [0, 0.5), got ${String(beta)}`)
  }
  const k = Math.floor(beta * n)
  if (n - 2 * k < 1) throw new AggregateError(AggregateErrorCode.BadParameter, `trimming ${k} of ${n} updates on each side leaves none`)
  return k
}

/**
 * For each coordinate, the mean of the values left after dropping the ⌊β·n⌋ smallest and
 * ⌊β·n⌋ largest (Yin et al. 2018). Unweighted for the same reason as the median.
 * β = 0 is the plain unweighted mean (up to summation order).
 */
export function trimmedMean (inputs: readonly UpdateInput[], beta: number): Float32Array {
  return foldTrimmedMean(canonicalInputs(inputs), beta)
}

/** Folds updates that are already validated and in canonical order. */
export function foldTrimmedMean (sorted: readonly UpdateInput[], beta: number): Float32Array {
  const k = trimCount(sorted.length, beta)
  const length = sorted[0].update.length
  const out = new Float32Array(length)
  const scratch = new Float64Array(sorted.length)
  for (let j = 0; j < length; j++) out[j] = trimmedAt(sorted, j, k, scratch)
  return out
}

/** Coordinate j of the trimmed mean with k dropped per side, alone (for sampled verification). */
export function trimmedAt (sorted: readonly UpdateInput[], j: number, k: number, scratch = new Float64Array(sorted.length)): number {
  const col = sortedColumn(sorted, j, scratch)
  const n = sorted.length
  // summed in ascending value order, a canonical order independent of the update ids
  let s = 0
  for (let i = k; i < n - k; i++) s += col[i]
  return Math.fround(s / (n - 2 * k))
}
