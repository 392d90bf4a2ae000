// What a built-in model provides to the step builders: its layout, initial values and forward pass.
import type { Value } from '../builder.js'
import type { ParamLayout } from '../../tensor/layout.js'
import type { Rng } from '../../tensor/rng.js'

export interface ModelDef<S> {
  /** parameter tensors in flat-vector order */
  layout: (spec: S) => ParamLayout
  /** initial flat vector from a seeded stream */
  init: (spec: S, rng: Rng) => Float32Array
  /** per-example input shape (without the batch axis) */
  inputShape: (spec: S) => number[]
  numClasses: (spec: S) => number
  /** logits [B, classes] from x [B, ...inputShape] and the named parameter tensors */
  forward: (spec: S, params: Readonly<Record<string, Value>>, x: Value) => Value
  /** throws SpecError for an unusable spec */
  validate: (spec: S) => void
}
