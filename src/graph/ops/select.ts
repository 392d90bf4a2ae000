// Where (picks elementwise between two tensors by a condition) and Trilu (keeps a triangle of each matrix); gradients flow to the kept elements.
import type { Value } from '../builder.js'
import { ShapeError } from '../errors.js'
import { reduceToShape } from '../grad-utils.js'
import { apply1, broadcastShapes, defineOp, need, type OpDef } from '../opdef.js'
import { attr } from '../types.js'
import { int64Scalar, scalarLike } from './misc.js'

const Where = defineOp('Where', inputs => {
  const [cond, a, b] = inputs.map((v, i) => need(v, `Where input ${i}`))
  return [{ dtype: a.dtype, shape: broadcastShapes(cond.shape, a.shape, b.shape) }]
}, c => {
  const g = c.grads[0]!
  const [cond, a, b] = c.inputs as Value[]
  const zero = scalarLike(g, 0)
  return [
    null,
    c.needs[1] ? reduceToShape(where(cond, g, zero), a) : null,
    c.needs[2] ? reduceToShape(where(cond, zero, g), b) : null
  ]
})

// opset 14; input 1 (optional) is the diagonal offset k, an int64 scalar
const Trilu = defineOp('Trilu', inputs => {
  const x = need(inputs[0], 'Trilu input')
  if (x.rank !== undefined && x.rank < 2) throw new ShapeError(`Trilu: "${x.name}" has rank ${x.rank}, needs at least 2`)
  return [{ dtype: x.dtype, shape: x.shape }]
}, c => {
  const g = c.grads[0]
  // the same mask (same k, same upper) applied to the gradient; k is an integer: no gradient
  return [g === null ? null : apply1(Trilu, [g, ...c.inputs.slice(1)], c.attrs), null]
})

export const selectOps: readonly OpDef[] = [Where, Trilu]

export function where (cond: Value, a: Value, b: Value): Value {
  return apply1(Where, [cond, a, b])
}

/** `fill` where the condition holds, x elsewhere (attention masks): one op, no mask tensor of x's size. */
export function maskFill (cond: Value, x: Value, fill: number): Value {
  return where(cond, scalarLike(x, fill), x)
}

export interface TriluOptions {
  /** keep the upper triangle (default) or the lower one */
  upper?: boolean
  /** diagonal offset: a number or an int64 scalar tensor; absent means 0 */
  k?: number | Value
}

/** The upper (or lower) triangle of each matrix in the last two axes, zeros elsewhere. */
export function trilu (x: Value, opts: TriluOptions = {}): Value {
  const k = opts.k === undefined ? [] : [typeof opts.k === 'number' ? int64Scalar(x, opts.k) : opts.k]
  return apply1(Trilu, [x, ...k], { upper: attr.int(opts.upper ?? true) })
}
