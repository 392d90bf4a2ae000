// One coordinate across all updates, sorted: the shared step of the coordinate-wise robust rules.
import type { UpdateInput } from './input.js'

/**
 * Fills `scratch[0..n)` with coordinate j of every update and sorts it ascending.
 *
 * Insertion sort: n is the number of updates in a round (tens), where it beats
 * TypedArray#sort's call overhead. −0 is stored as +0 (`v + 0`) so equal values are
 * indistinguishable and the sorted column does not depend on the input order at all.
 */
export function sortedColumn (sorted: readonly UpdateInput[], j: number, scratch: Float64Array): Float64Array {
  const n = sorted.length
  for (let i = 0; i < n; i++) {
    const v = sorted[i].update[j] + 0
    let k = i - 1
    while (k >= 0 && scratch[k] > v) {
      scratch[k + 1] = scratch[k]
      k--
    }
    scratch[k + 1] = v
  }
  return scratch
}
