// Public specs of the graph layer: which model, which optimizer, and what a training-step graph is.
import type { ParamLayout } from '../tensor/layout.js'

export type OptimizerSpec =
  | {
    kind: 'sgd'
    /** @default 0.9 */
    momentum?: number
    /** L2 term added to the gradient (PyTorch SGD semantics) @default 0 */
    weightDecay?: number
    /** global gradient-norm clip; no clipping when absent */
    clipNorm?: number
  }
  | {
    kind: 'adamw'
    /** @default 0.9 */
    beta1?: number
    /** @default 0.999 */
    beta2?: number
    /** @default 1e-8 */
    eps?: number
    /** decoupled: p ← p·(1 − lr·wd) @default 0 */
    weightDecay?: number
    /** global gradient-norm clip; no clipping when absent */
    clipNorm?: number
  }

export interface ModelSpec {
  kind: 'mlp'
  /** layer widths, input first, classes last, e.g. [784, 256, 10] */
  sizes: number[]
}

export interface TrainingStepGraph {
  /** serialized ONNX ModelProto */
  model: Uint8Array
  layout: ParamLayout
  /** optimizer state inputs in order; output names are these plus '_out' */
  stateNames: string[]
  /** K optimizer steps per run (1 = no Loop) */
  innerSteps: number
  /** per-example feature shape, e.g. [784] */
  inputShape: number[]
  numClasses: number
}

/** Graph input and output names shared by the training, eval and inference models. */
export const IO = {
  params: 'params',
  lr: 'lr',
  x: 'x',
  y: 'y',
  paramsOut: 'params_out',
  losses: 'losses',
  loss: 'loss',
  correct: 'correct',
  logits: 'logits'
} as const
