// Normalisation over trailing axes: LayerNormalization (opset 17), output Y only.
import type { Value } from '../builder.js'
import { ShapeError } from '../errors.js'
import { reduceToShape } from '../grad-utils.js'
import { apply1, defineOp, need, type GradCall, type OpDef } from '../opdef.js'
import { attr, floatAttr, intAttr, normAxis } from '../types.js'
import { add, div, mul, sqrt, sub } from './elementwise.js'
import { reduceMean } from './reduce.js'

/** The normalised axes [axis, rank) of x. */
function normalizedAxes (x: Value, attrs: GradCall['attrs']): number[] {
  if (x.rank === undefined) throw new ShapeError(`LayerNormalization: rank of "${x.name}" must be known`)
  const a = normAxis(intAttr(attrs, 'axis', -1), x.rank)
  return Array.from({ length: x.rank - a }, (_, i) => a + i)
}

const LayerNormalization = defineOp('LayerNormalization', (inputs, attrs) => {
  const x = need(inputs[0], 'LayerNormalization X')
  need(inputs[1], 'LayerNormalization Scale')
  if (x.rank !== undefined) normalizedAxes(x, attrs) // rejects an axis out of range while building
  return [{ dtype: x.dtype, shape: x.shape }]
}, c => {
  const g = c.grads[0]
  if (g === null) return [null, null, null]
  const x = c.inputs[0]!
  const scale = c.inputs[1]!
  const bias = c.inputs[2] ?? null
  const axes = normalizedAxes(x, c.attrs)
  const mean = (v: Value): Value => reduceMean(v, axes, true)
  // Mean and InvStdDev are not outputs of the node: recompute x̂ = (x − μ)·rstd here
  let rstd: Value | undefined
  let xhat: Value | undefined
  if (c.needs[0] || c.needs[1]) {
    const xc = sub(x, mean(x))
    rstd = div(1, sqrt(add(mean(mul(xc, xc)), floatAttr(c.attrs, 'epsilon', 1e-5))))
    xhat = mul(xc, rstd)
  }
  let dx: Value | null = null
  if (c.needs[0]) {
    // dx = rstd · (g·s − mean(g·s) − x̂·mean(g·s·x̂)) over the normalised axes
    const gs = mul(g, scale)
    dx = mul(rstd!, sub(sub(gs, mean(gs)), mul(xhat!, mean(mul(gs, xhat!)))))
  }
  return [
    dx,
    c.needs[1] ? reduceToShape(mul(g, xhat!), scale) : null,
    bias !== null && c.needs[2] ? reduceToShape(g, bias) : null
  ]
})

export const normOps: readonly OpDef[] = [LayerNormalization]

// ---- builder functions ------------------------------------------------------------------

export interface LayerNormOptions {
  /** first normalised axis; the axes from it to the last are normalised (default -1) */
  axis?: number
  /** default 1e-5 */
  epsilon?: number
}

/** (x − mean) / sqrt(var + ε) · scale + bias over the axes from `axis` on; scale and bias have the normalised shape. */
export function layerNorm (x: Value, scale: Value, bias?: Value | null, opts: LayerNormOptions = {}): Value {
  const inputs = bias === undefined || bias === null ? [x, scale] : [x, scale, bias]
  return apply1(LayerNormalization, inputs, { axis: attr.int(opts.axis ?? -1), epsilon: attr.float(opts.epsilon ?? 1e-5) })
}
