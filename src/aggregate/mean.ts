// Sample-weighted mean of updates as a streaming fold: O(P) memory however many updates arrive.
import { AggregateError, AggregateErrorCode } from './errors.js'
import { canonicalInputs, checkFinite, checkWeight, compareBytes, idBytes, idToString, type UpdateId, type UpdateInput } from './input.js'
import { ruleSyntax, type FoldRuleEntry } from './rule-entry.js'

/**
 * Σ wᵢ·Δᵢ / Σ wᵢ over the updates added, accumulated in float64 and rounded to float32
 * once at the end. Weights are renormalised over what was actually added, so an update
 * that never arrived simply does not count.
 *
 * The result is bit-exact only for a fixed order of `add` calls. Pass ids and add in
 * ascending id order (the folder then refuses anything out of order), or use
 * `weightedMean`, which sorts for you. An aggregator that closes the update set first
 * can decode and add one blob at a time in id order and never hold more than one
 * dense update.
 */
export class MeanFolder {
  readonly length: number
  private readonly acc: Float64Array
  private total = 0
  private n = 0
  private lastId: Uint8Array | undefined

  constructor (length: number) {
    if (!Number.isInteger(length) || length < 0) throw new AggregateError(AggregateErrorCode.BadParameter, `length must be a non-negative integer, got ${length}`)
    this.length = length
    this.acc = new Float64Array(length)
  }

  /** updates folded so far */
  get count (): number { return this.n }

  /** Σ wᵢ so far */
  get totalWeight (): number { return this.total }

  /**
   * Folds one update in. Validates before touching the sum, so a rejected update leaves
   * the folder as it was.
   */
  add (update: Float32Array, weight: number, id?: UpdateId): void {
    if (update.length !== this.length) {
      throw new AggregateError(AggregateErrorCode.LengthMismatch, `update has ${update.length} values, the fold has ${this.length}`, id === undefined ? undefined : idToString(id))
    }
    checkWeight(weight, id)
    checkFinite(update, id)
    if (id !== undefined) {
      const key = idBytes(id)
      if (this.lastId !== undefined) {
        const c = compareBytes(this.lastId, key)
        if (c === 0) throw new AggregateError(AggregateErrorCode.DuplicateId, `update ${idToString(id)} added twice`, idToString(id))
        if (c > 0) throw new AggregateError(AggregateErrorCode.OutOfOrder, `update ${idToString(id)} added after a larger id; add in ascending id order`, idToString(id))
      }
      this.lastId = key
    }
    const acc = this.acc
    // w·Δ[j] and the running sum in float64, in this exact form: meanAt() repeats it per coordinate
    for (let j = 0; j < acc.length; j++) acc[j] += weight * update[j]
    this.total += weight
    this.n++
  }

  /** The weighted mean so far as float32 (a new array; the folder can keep folding). */
  result (): Float32Array {
    if (this.n === 0) throw new AggregateError(AggregateErrorCode.NoUpdates, 'no updates were added')
    if (!(this.total > 0)) throw new AggregateError(AggregateErrorCode.ZeroTotalWeight, `the ${this.n} updates carry zero total weight`)
    const out = new Float32Array(this.length)
    const acc = this.acc
    const total = this.total
    for (let j = 0; j < out.length; j++) out[j] = acc[j] / total
    return out
  }
}

/** Weighted mean of a set of updates, folded in canonical (id) order. */
export function weightedMean (inputs: readonly UpdateInput[]): Float32Array {
  return foldMean(canonicalInputs(inputs))
}

/** Folds updates that are already validated and in canonical order. */
export function foldMean (sorted: readonly UpdateInput[]): Float32Array {
  const folder = new MeanFolder(sorted[0].update.length)
  for (const u of sorted) folder.add(u.update, u.weight)
  return folder.result()
}

/**
 * Coordinate j of `foldMean(sorted)`, computed alone with the same float64 operations in
 * the same order, so a verifier sampling coordinates gets identical bits.
 */
export function meanAt (sorted: readonly UpdateInput[], j: number): number {
  let acc = 0
  let total = 0
  for (const u of sorted) {
    acc += u.weight * u.update[j]
    total += u.weight
  }
  if (!(total > 0)) throw new AggregateError(AggregateErrorCode.ZeroTotalWeight, 'the updates carry zero total weight')
  return Math.fround(acc / total)
}

/** `mean`: the sample-weighted mean; any number of inputs. */
export const meanRule: FoldRuleEntry<'mean'> = {
  kind: 'mean',
  names: ['mean'],
  parse: (params, text) => {
    if (params.length !== 0) throw ruleSyntax(text, '"mean" takes no parameters')
    return { kind: 'mean' }
  },
  format: () => 'mean',
  validate: rule => rule,
  minInputs: () => 1,
  prepare: sorted => {
    const total = sorted.reduce((a, u) => a + u.weight, 0)
    if (!(total > 0)) throw new AggregateError(AggregateErrorCode.ZeroTotalWeight, `the ${sorted.length} updates carry zero total weight`)
    return { selectedIndices: sorted.map((_, i) => i), at: j => meanAt(sorted, j), full: () => foldMean(sorted) }
  }
}
