// Public specs of the graph layer: which model, which optimizer, and what a training-step graph is.
import type { ParamLayout } from '../tensor/layout.js'
import type { OnnxSpec } from './import-onnx.js'
import type { GptSpec } from './models/gpt.js'

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

export type ModelSpec =
  | {
    kind: 'mlp'
    /** layer widths, input first, classes last, e.g. [784, 256, 10] */
    sizes: number[]
  }
  | {
    kind: 'bigram'
    /** token ids are in [0, vocab) */
    vocab: number
    /** tokens per window */
    context: number
  }
  /** byte-level GPT (models/gpt.ts) */
  | GptSpec
  /** an ONNX forward graph loaded with importOnnx (import-onnx.ts), named by its content hash */
  | OnnxSpec

/** Element types a model input or target may have (what a batch can carry). */
export type IoDType = 'float32' | 'int64'

/** One named graph input or target: element type and shape, batch axis first as 'B'. */
export interface TensorSpec {
  readonly name: string
  readonly dtype: IoDType
  /** e.g. ['B', 784] or ['B', 64]; only the batch axis is symbolic */
  readonly shape: ReadonlyArray<number | 'B'>
}

export interface TrainingStepGraph {
  /** serialized ONNX ModelProto */
  model: Uint8Array
  layout: ParamLayout
  /** optimizer state inputs in order; output names are these plus '_out' */
  stateNames: string[]
  /** K optimizer steps per run (1 = no Loop) */
  innerSteps: number
  /** inputs as the model declares them, per step (the graph takes each as [K, ...shape]) */
  inputs: TensorSpec[]
  /** the target as the model declares it, per step (fed as [K, ...shape]) */
  target: TensorSpec
}

/** Graph input and output names shared by the training, eval and inference models. */
export const IO = {
  params: 'params',
  lr: 'lr',
  x: 'x',
  tokens: 'tokens',
  y: 'y',
  paramsOut: 'params_out',
  losses: 'losses',
  loss: 'loss',
  correct: 'correct',
  logits: 'logits'
} as const
