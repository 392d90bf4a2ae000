// Public face of graph/: ONNX graph builder, reverse-mode autodiff, optimizers, built-in models, step graphs.
import { Rng } from '../tensor/rng.js'
import type { ParamLayout } from '../tensor/layout.js'
import { modelDef } from './models/index.js'
import type { ModelSpec } from './spec.js'

export type { ModelSpec, OptimizerSpec, TrainingStepGraph, TensorSpec, IoDType } from './spec.js'
export { IO } from './spec.js'
export { buildTrainingStep } from './training-step.js'
export { buildEvalModel, buildInferenceModel, type EvalModel } from './eval-model.js'
export { LOSSES, metricValue, needsCorrect, type LossDef, type LossName, type MetricName, type EvalSums } from './losses.js'
export { initOptimizerState, optimizerState, optimizerStep, resolveOptimizer, clipByGlobalNorm, type ResolvedOptimizer, type StateSlot } from './optimizers.js'

/** The named tensors of a model's flat parameter vector, in order. */
export function modelLayout (model: ModelSpec): ParamLayout {
  return modelDef(model).layout(model)
}

/** Initial flat parameters, reproducible from `seed`. */
export function initParams (model: ModelSpec, seed: number): Float32Array {
  return modelDef(model).init(model, new Rng(`init:${model.kind}:${seed}`))
}

// the builder layer, for new models and tests
export { GraphBuilder, Value, type NodeRecord } from './builder.js'
export { gradients, type GradientOptions } from './autodiff.js'
export { unflatten, unflattenBuckets, bucketLayout, type Bucket } from './flat-params.js'
export { serializeModel, modelProto, decodeModel, DEFAULT_OPSET, IR_VERSION, type SerializeOptions } from './serialize.js'
export { attr, tensor, type AttrValue, type DType, type Dim, type Shape, type TensorData } from './types.js'
export { defineOp, apply, apply1, type OpDef, type GradRule, type GradCall } from './opdef.js'
export * as ops from './ops/index.js'
export { OP_TABLE, createOpTable, type OpTable } from './ops/index.js'
export * from './errors.js'
export { DEFAULT_MLP_SIZES, DEFAULT_GPT, type ModelDef, type MlpSpec, type BigramSpec, type GptSpec } from './models/index.js'
export { importOnnx, onnxModelDef, registeredOnnx, tensorData, type OnnxSpec, type ImportOptions } from './import-onnx.js'
