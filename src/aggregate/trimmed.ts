// Coordinate-wise trimmed mean: drop the β-fraction extremes on each side, average the rest.
import { AggregateError, AggregateErrorCode } from './errors.js'
import { canonicalInputs, type UpdateInput } from './input.js'
import { sortedColumn } from './column.js'
import { ruleNumber, ruleSyntax, type FoldRuleEntry } from './rule-entry.js'

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

/**
 * Fewest inputs from which β trims at least one value per side (⌊β·n⌋ ≥ 1); below that the
 * trimmed mean is the plain unweighted mean and protects nothing. 1 for β = 0 (asked for).
 */
export function trimMinInputs (beta: number): number {
  trimCount(1, beta)
  if (beta === 0) return 1
  let n = Math.max(1, Math.ceil(1 / beta))
  // 1/β rounds: settle on the exact smallest n with ⌊β·n⌋ ≥ 1, as trimCount computes it
  while (Math.floor(beta * n) < 1) n++
  while (n > 1 && Math.floor(beta * (n - 1)) >= 1) n--
  return n
}

/** `trimmed:<β>`: the coordinate-wise β-trimmed mean; needs ⌊β·n⌋ ≥ 1. */
export const trimmedRule: FoldRuleEntry<'trimmed-mean'> = {
  kind: 'trimmed-mean',
  names: ['trimmed', 'trimmed-mean'],
  parse: (params, text) => {
    if (params.length !== 1) throw ruleSyntax(text, 'expected trimmed:<beta>')
    return trimmedRule.validate({ kind: 'trimmed-mean', beta: ruleNumber(params[0]) })
  },
  format: rule => `trimmed:${rule.beta}`,
  validate: rule => { trimCount(3, rule.beta); return rule },
  minInputs: rule => trimMinInputs(rule.beta),
  prepare: (sorted, rule) => {
    const k = trimCount(sorted.length, rule.beta)
    const scratch = new Float64Array(sorted.length)
    return { selectedIndices: sorted.map((_, i) => i), at: j => trimmedAt(sorted, j, k, scratch), full: () => foldTrimmedMean(sorted, rule.beta) }
  }
}
