// Norm clipping of updates before folding: bounds how far any single sender can move the model.
import { AggregateError, AggregateErrorCode } from './errors.js'
import type { UpdateInput } from './input.js'

/**
 * `norm`: scale any update whose L2 norm exceeds `maxNorm` down to exactly `maxNorm`.
 * `median-norm`: the same with the bound `multiple` × the median norm of this round's
 * updates, which needs no tuning to the model's scale and still caps an outlier.
 */
export type ClipRule =
  | { readonly kind: 'norm', readonly maxNorm: number }
  | { readonly kind: 'median-norm', readonly multiple: number }

/** L2 norm in float64, summed in index order (part of the canonical computation). */
export function l2Norm (update: Float32Array): number {
  let s = 0
  for (let j = 0; j < update.length; j++) s += update[j] * update[j]
  return Math.sqrt(s)
}

export function validateClipRule (rule: ClipRule): ClipRule {
  if (rule.kind === 'norm') {
    if (!(Number.isFinite(rule.maxNorm) && rule.maxNorm > 0)) throw new AggregateError(AggregateErrorCode.BadParameter, `clip norm must be a finite number > 0, got ${rule.maxNorm}`)
  } else if (rule.kind === 'median-norm') {
    if (!(Number.isFinite(rule.multiple) && rule.multiple > 0)) throw new AggregateError(AggregateErrorCode.BadParameter, `clip multiple must be a finite number > 0, got ${rule.multiple}`)
  } else {
    throw new AggregateError(AggregateErrorCode.BadParameter, `unknown clip rule "${String((rule as { kind: unknown }).kind)}"`)
  }
  return rule
}

/**
 * The update scaled to at most `maxNorm`; the input itself (not a copy) when it is already
 * within the bound. Scaling multiplies in float64 and rounds each value to float32 once.
 */
export function clipToNorm (update: Float32Array, maxNorm: number, norm = l2Norm(update)): Float32Array {
  if (!(maxNorm >= 0 && maxNorm < Infinity)) throw new AggregateError(AggregateErrorCode.BadParameter, `clip norm must be finite and ≥ 0, got ${maxNorm}`)
  if (norm <= maxNorm) return update
  const scale = maxNorm / norm
  const out = new Float32Array(update.length)
  for (let j = 0; j < update.length; j++) out[j] = update[j] * scale
  return out
}

/** The bound a rule puts on this set of updates. */
export function clipBound (norms: readonly number[] | Float64Array, rule: ClipRule): number {
  validateClipRule(rule)
  if (rule.kind === 'norm') return rule.maxNorm
  const s = Float64Array.from(norms).sort()
  const mid = s.length >> 1
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
  return rule.multiple * median
}

/**
 * The inputs with every update clipped by the rule, in the same order; unclipped updates
 * are passed through without a copy. Weights and ids are unchanged.
 */
export function clipInputs (inputs: readonly UpdateInput[], rule: ClipRule): UpdateInput[] {
  if (inputs.length === 0) return []
  const norms = inputs.map(u => l2Norm(u.update))
  const bound = clipBound(norms, rule)
  return inputs.map((u, i) => norms[i] <= bound ? u : { ...u, update: clipToNorm(u.update, bound, norms[i]) })
}
