// Multi-layer perceptron: Gemm + ReLU layers, He init for hidden layers, Glorot for the output layer.
import type { Value } from '../builder.js'
import { SpecError } from '../errors.js'
import { flatten, gemm, relu } from '../ops/index.js'
import { createLayout, type ParamLayout } from '../../tensor/layout.js'
import type { Rng } from '../../tensor/rng.js'
import type { ModelDef } from './model.js'
import { IO } from '../spec.js'

export interface MlpSpec {
  kind: 'mlp'
  /** widths, input first, classes last; default [784, 256, 10] */
  sizes: number[]
}

export const DEFAULT_MLP_SIZES: readonly number[] = [784, 256, 10]

/**
 * Layer i has `layer{i}.weight` [in, out] (so a forward layer is one Gemm(x, W, b) and
 * the weight gradient is one Gemm(xᵀ, g) with the transpose as a flag) and `layer{i}.bias` [out].
 */
export function mlpLayout (spec: MlpSpec): ParamLayout {
  validateMlp(spec)
  const tensors: Array<{ name: string, shape: number[] }> = []
  for (let i = 0; i + 1 < spec.sizes.length; i++) {
    tensors.push({ name: `layer${i}.weight`, shape: [spec.sizes[i], spec.sizes[i + 1]] })
    tensors.push({ name: `layer${i}.bias`, shape: [spec.sizes[i + 1]] })
  }
  return createLayout(tensors)
}

export function validateMlp (spec: MlpSpec): void {
  const s = spec.sizes
  if (!Array.isArray(s) || s.length < 2) throw new SpecError('mlp needs at least an input and an output size')
  for (const d of s) if (!Number.isInteger(d) || d <= 0) throw new SpecError(`mlp size ${d} is not a positive integer`)
  if (s[s.length - 1] < 2) throw new SpecError('mlp needs at least 2 classes')
}

/** He-normal (ReLU follows) for hidden layers, Glorot-uniform for the output layer, zero biases. */
export function initMlp (spec: MlpSpec, rng: Rng): Float32Array {
  const layout = mlpLayout(spec)
  const flat = new Float32Array(layout.total)
  const layers = spec.sizes.length - 1
  for (const e of layout.entries) {
    if (!e.name.endsWith('.weight')) continue
    const i = Number(e.name.slice('layer'.length, e.name.indexOf('.')))
    const [fanIn, fanOut] = e.shape
    const w = flat.subarray(e.offset, e.offset + e.size)
    if (i < layers - 1) {
      const std = Math.sqrt(2 / fanIn)
      for (let k = 0; k < w.length; k++) w[k] = rng.normal() * std
    } else {
      const limit = Math.sqrt(6 / (fanIn + fanOut))
      for (let k = 0; k < w.length; k++) w[k] = (2 * rng.next() - 1) * limit
    }
  }
  return flat
}

export function mlpForward (spec: MlpSpec, p: Readonly<Record<string, Value>>, x: Value): Value {
  let h = x.rank === 2 ? x : flatten(x, 1)
  const layers = spec.sizes.length - 1
  for (let i = 0; i < layers; i++) {
    h = gemm(h, p[`layer${i}.weight`], p[`layer${i}.bias`])
    if (i < layers - 1) h = relu(h)
  }
  return h
}

export const mlp: ModelDef<MlpSpec> = {
  inputs: spec => [{ name: IO.x, dtype: 'float32', shape: ['B', spec.sizes[0]] }],
  target: () => ({ name: IO.y, dtype: 'int64', shape: ['B'] }),
  loss: 'softmax_cross_entropy',
  metrics: ['accuracy'],
  layout: mlpLayout,
  init: initMlp,
  forward: (spec, p, inputs) => mlpForward(spec, p, inputs[IO.x]),
  validate: validateMlp
}
