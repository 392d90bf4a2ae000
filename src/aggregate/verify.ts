// Checking another node's commit: recompute its fold (and outer step) in full or on sampled coordinates.
import { Rng } from '../tensor/rng.js'
import { AggregateError, AggregateErrorCode } from './errors.js'
import type { UpdateInput } from './input.js'
import { prepareFold, type FoldSpec } from './rule.js'
import type { OuterOptimizer, OuterState } from './optimizer.js'

/**
 * `full`: every coordinate. `sampled`: `count` distinct coordinates drawn from `seed`.
 * The seed should be the verifier's own (not derivable by the aggregator), or a cheater
 * could get exactly the checked coordinates right.
 */
export type VerifyCheck =
  | { readonly kind: 'full' }
  | { readonly kind: 'sampled', readonly count: number, readonly seed: number | string }

export interface Mismatch {
  readonly index: number
  readonly expected: number
  readonly claimed: number
}

export interface VerifyResult {
  /** true when the claim has the right length and every checked coordinate matches bit for bit */
  readonly ok: boolean
  /** false when the claimed vector has the wrong length (nothing else was checked) */
  readonly lengthOk: boolean
  /** coordinates compared */
  readonly checked: number
  /** coordinates that differ */
  readonly mismatches: number
  /** the first differing coordinate, for the log line */
  readonly first?: Mismatch
}

export interface VerifyFoldInput {
  /** the updates the commit says it included, in any order */
  readonly inputs: readonly UpdateInput[]
  readonly spec: FoldSpec
  /** the aggregate the commit claims */
  readonly claimed: Float32Array
  readonly check: VerifyCheck
}

/**
 * Recomputes a commit's aggregate from its inputs and compares bit for bit. Whole-vector
 * steps (id order, clipping norms, Multi-Krum's selection) always run in full; a sampled
 * check then evaluates only the chosen coordinates, with the same float64 operations in
 * the same order as the fold, so an honest commit never fails it.
 *
 * The rule is the spec's effective rule for this many inputs (effectiveFoldRule: the
 * median below the rule's minimum), exactly as the fold picked it.
 *
 * Throws AggregateError when the inputs themselves cannot be folded (NaN, lengths,
 * duplicate ids): a commit that included them is invalid too.
 */
export function verifyFold (input: VerifyFoldInput): VerifyResult {
  const p = prepareFold(input.inputs, input.spec)
  const { claimed } = input
  if (claimed.length !== p.length) return { ok: false, lengthOk: false, checked: 0, mismatches: 0 }
  if (input.check.kind === 'full') {
    const expected = p.full()
    return compare(claimed, allIndices(p.length), j => expected[j])
  }
  return compare(claimed, sampleCoordinates(p.length, input.check.count, input.check.seed), j => p.at(j))
}

export interface VerifyOuterInput {
  readonly optimizer: OuterOptimizer
  /** the model the round started from */
  readonly theta: Float32Array
  /** the (verified) aggregate */
  readonly delta: Float32Array
  /** the optimizer state before this round, as this node derived it from the chain */
  readonly state: OuterState
  /** the new model the commit claims */
  readonly claimedTheta: Float32Array
  readonly check: VerifyCheck
}

/** Recomputes the outer step of a commit (new θ = θ − lr·g) and compares bit for bit. */
export function verifyOuterStep (input: VerifyOuterInput): VerifyResult {
  const { optimizer, theta, delta, state, claimedTheta } = input
  if (delta.length !== theta.length) throw new AggregateError(AggregateErrorCode.LengthMismatch, `update has ${delta.length} values, the model ${theta.length}`)
  if (claimedTheta.length !== theta.length) return { ok: false, lengthOk: false, checked: 0, mismatches: 0 }
  if (input.check.kind === 'full') {
    const expected = optimizer.step(theta, delta, state).theta
    return compare(claimedTheta, allIndices(theta.length), j => expected[j])
  }
  return compare(claimedTheta, sampleCoordinates(theta.length, input.check.count, input.check.seed), j => optimizer.stepAt(theta, delta, state, j).theta)
}

/**
 * `count` distinct coordinates of [0, length), ascending, drawn from `seed` (every
 * coordinate when count ≥ length). Floyd's algorithm: exactly `count` draws, no rejection.
 */
export function sampleCoordinates (length: number, count: number, seed: number | string): Int32Array {
  if (!Number.isInteger(count) || count < 1) throw new AggregateError(AggregateErrorCode.BadParameter, `sample count must be a positive integer, got ${count}`)
  if (count >= length) return allIndices(length)
  const rng = new Rng(seed)
  const chosen = new Set<number>()
  for (let j = length - count; j < length; j++) {
    const t = rng.int(j + 1)
    chosen.add(chosen.has(t) ? j : t)
  }
  return Int32Array.from(chosen).sort()
}

function allIndices (length: number): Int32Array {
  const out = new Int32Array(length)
  for (let j = 0; j < length; j++) out[j] = j
  return out
}

function compare (claimed: Float32Array, indices: Int32Array, expectedAt: (j: number) => number): VerifyResult {
  let mismatches = 0
  let first: Mismatch | undefined
  for (const j of indices) {
    const e = expectedAt(j)
    // Object.is: bit equality for float32 values, telling −0 from +0
    if (!Object.is(e, claimed[j])) {
      mismatches++
      if (first === undefined) first = { index: j, expected: e, claimed: claimed[j] }
    }
  }
  const r = { ok: mismatches === 0, lengthOk: true, checked: indices.length, mismatches }
  return first === undefined ? r : { ...r, first }
}
