// Evaluation and export models: mean loss + correct count from a flat vector, and a plain inference model.
import { GraphBuilder } from './builder.js'
import { InvalidArgumentError } from './errors.js'
import { unflatten } from './flat-params.js'
import { modelDef } from './models/index.js'
import { argMax, cast, equal, reduceSum, softmaxCrossEntropy } from './ops/index.js'
import { serializeModel } from './serialize.js'
import { IO, type ModelSpec } from './spec.js'
import { tensor } from './types.js'
import type { ParamLayout } from '../tensor/layout.js'

/**
 * inputs params [P] f32, x [B, …inputShape] f32, y [B] int64;
 * outputs loss [] f32 (mean over the batch), correct [] int64 (count of argmax == y).
 */
export function buildEvalModel (model: ModelSpec): { model: Uint8Array, layout: ParamLayout } {
  const def = modelDef(model)
  const layout = def.layout(model)
  const g = new GraphBuilder('eval')
  const params = g.input(IO.params, 'float32', [layout.total])
  const x = g.input(IO.x, 'float32', ['B', ...def.inputShape(model)])
  const y = g.input(IO.y, 'int64', ['B'])
  const logits = def.forward(model, unflatten(params, layout), x)
  g.output(softmaxCrossEntropy(logits, y, 'mean').loss, IO.loss)
  g.output(reduceSum(cast(equal(argMax(logits, 1, false), y), 'int64'), undefined, false), IO.correct)
  return { model: serializeModel(g, { docString: `eval: ${model.kind}` }), layout }
}

/**
 * A self-contained model any ONNX Runtime can load: the parameters become named
 * initializers (layout names), input 'x' [B, …inputShape], output 'logits' [B, classes].
 */
export function buildInferenceModel (model: ModelSpec, params: Float32Array): Uint8Array {
  const def = modelDef(model)
  const layout = def.layout(model)
  if (params.length !== layout.total) throw new InvalidArgumentError(`params has ${params.length} values, the model needs ${layout.total}`)
  const g = new GraphBuilder('inference')
  const x = g.input(IO.x, 'float32', ['B', ...def.inputShape(model)])
  const named = Object.fromEntries(layout.entries.map(e => [
    e.name,
    g.initializer(e.name, tensor('float32', e.shape, params.slice(e.offset, e.offset + e.size)))
  ]))
  g.output(def.forward(model, named, x), IO.logits)
  return serializeModel(g, { docString: `inference: ${model.kind}` })
}
