// What a model provides to the step builders: its inputs, target, loss, metrics, layout, init and forward pass.
import type { Value } from '../builder.js'
import type { LossName, MetricName } from '../losses.js'
import type { TensorSpec } from '../spec.js'
import type { ParamLayout } from '../../tensor/layout.js'
import type { Rng } from '../../tensor/rng.js'

export interface ModelDef<S> {
  /**
   * Graph inputs, batch axis first as the symbol 'B' and every other axis static,
   * e.g. x float32 ['B', 784] or tokens int64 ['B', 64]. Their order is the order a
   * batch supplies them in.
   */
  inputs: (spec: S) => TensorSpec[]
  /** what the loss compares the output with, e.g. y int64 ['B'] or next tokens int64 ['B', T] */
  target: (spec: S) => TensorSpec
  /** a name from LOSSES; its ranks are checked against output and target when a step is built */
  loss: LossName
  /** what an evaluation reports besides the mean loss */
  metrics: readonly MetricName[]
  /** parameter tensors in flat-vector order */
  layout: (spec: S) => ParamLayout
  /** initial flat vector from a seeded stream */
  init: (spec: S, rng: Rng) => Float32Array
  /** the output the loss takes (logits), from the named inputs and parameter tensors */
  forward: (spec: S, params: Readonly<Record<string, Value>>, inputs: Readonly<Record<string, Value>>) => Value
  /** throws SpecError for an unusable spec */
  validate: (spec: S) => void
  /** which tensors the optimizer's weight decay applies to (by layout name) @default all of them */
  decays?: (name: string) => boolean
}
