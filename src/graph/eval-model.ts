// Evaluation and export models: mean loss (+ correct count) from a flat vector, and a plain inference model.
import { GraphBuilder } from './builder.js'
import { InvalidArgumentError } from './errors.js'
import { unflatten } from './flat-params.js'
import { LOSSES, needsCorrect, type MetricName } from './losses.js'
import { modelDef } from './models/index.js'
import { serializeModel } from './serialize.js'
import { IO, type ModelSpec, type TensorSpec } from './spec.js'
import { tensor } from './types.js'
import type { ParamLayout } from '../tensor/layout.js'

export interface EvalModel {
  model: Uint8Array
  layout: ParamLayout
  /** inputs and target as the model declares them (fed with their batch axis) */
  inputs: TensorSpec[]
  target: TensorSpec
  /** what the caller reports from the outputs (see metricValue) */
  metrics: readonly MetricName[]
}

/**
 * inputs params [P] f32, the model's declared inputs [B, …] and target [B, …];
 * outputs loss [] f32 (the model's loss: mean over the target's elements) and, when a
 * metric needs it, correct [] int64 (count of target elements where argmax == target).
 */
export function buildEvalModel (model: ModelSpec): EvalModel {
  const def = modelDef(model)
  const layout = def.layout(model)
  const inputs = def.inputs(model)
  const target = def.target(model)
  const loss = LOSSES[def.loss]
  const g = new GraphBuilder('eval')
  const params = g.input(IO.params, 'float32', [layout.total])
  const named = Object.fromEntries(inputs.map(t => [t.name, g.input(t.name, t.dtype, t.shape)]))
  const y = g.input(target.name, target.dtype, target.shape)
  const output = def.forward(model, unflatten(params, layout), named)
  g.output(loss.mean(output, y), IO.loss)
  if (needsCorrect(def.metrics)) g.output(loss.correct(output, y), IO.correct)
  return { model: serializeModel(g, { docString: `eval: ${model.kind}` }), layout, inputs, target, metrics: def.metrics }
}

/**
 * A self-contained model any ONNX Runtime can load: the parameters become named
 * initializers (layout names), the model's declared inputs, output 'logits'.
 */
export function buildInferenceModel (model: ModelSpec, params: Float32Array, metadata: Record<string, string> = {}): Uint8Array {
  const def = modelDef(model)
  const layout = def.layout(model)
  if (params.length !== layout.total) throw new InvalidArgumentError(`params has ${params.length} values, the model needs ${layout.total}`)
  const g = new GraphBuilder('inference')
  const named = Object.fromEntries(def.inputs(model).map(t => [t.name, g.input(t.name, t.dtype, t.shape)]))
  const p = Object.fromEntries(layout.entries.map(e => [
    e.name,
    g.initializer(e.name, tensor('float32', e.shape, params.slice(e.offset, e.offset + e.size)))
  ]))
  g.output(def.forward(model, p, named), IO.logits)
  return serializeModel(g, { docString: `inference: ${model.kind}`, metadata })
}
