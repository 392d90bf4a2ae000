// Coordinate-wise median of updates: robust to fewer than half of them being arbitrary.
import { canonicalInputs, type UpdateInput } from './input.js'
import { sortedColumn } from './column.js'
import { ruleSyntax, type FoldRuleEntry } from './rule-entry.js'

/**
 * For each coordinate, the median of the updates' values (mean of the two middle values
 * for an even count). Sample weights are ignored on purpose: a weight is only a claim
 * by the sender, and letting it move a robust statistic would hand a Byzantine node the
 * lever the rule exists to take away.
 */
export function coordinateMedian (inputs: readonly UpdateInput[]): Float32Array {
  return foldMedian(canonicalInputs(inputs))
}

/** Folds updates that are already validated and in canonical order. */
export function foldMedian (sorted: readonly UpdateInput[]): Float32Array {
  const length = sorted[0].update.length
  const out = new Float32Array(length)
  const scratch = new Float64Array(sorted.length)
  for (let j = 0; j < length; j++) out[j] = medianAt(sorted, j, scratch)
  return out
}

/** Coordinate j of the median, alone (for sampled verification). */
export function medianAt (sorted: readonly UpdateInput[], j: number, scratch = new Float64Array(sorted.length)): number {
  const col = sortedColumn(sorted, j, scratch)
  const n = sorted.length
  const mid = n >> 1
  return Math.fround(n % 2 === 1 ? col[mid] : (col[mid - 1] + col[mid]) / 2)
}

/** `median`: the coordinate-wise median; any number of inputs, and the rule others fall back to. */
export const medianRule: FoldRuleEntry<'median'> = {
  kind: 'median',
  names: ['median'],
  parse: (params, text) => {
    if (params.length !== 0) throw ruleSyntax(text, '"median" takes no parameters')
    return { kind: 'median' }
  },
  format: () => 'median',
  validate: rule => rule,
  minInputs: () => 1,
  prepare: sorted => {
    const scratch = new Float64Array(sorted.length)
    return { selectedIndices: sorted.map((_, i) => i), at: j => medianAt(sorted, j, scratch), full: () => foldMedian(sorted) }
  }
}
