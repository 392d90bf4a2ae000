// Where: picks elementwise between two tensors by a condition; gradient flows to the picked side.
import type { Value } from '../builder.js'
import { reduceToShape } from '../grad-utils.js'
import { apply1, broadcastShapes, defineOp, need, type OpDef } from '../opdef.js'
import { scalarLike } from './misc.js'

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

export const selectOps: readonly OpDef[] = [Where]

export function where (cond: Value, a: Value, b: Value): Value {
  return apply1(Where, [cond, a, b])
}

/** `fill` where the condition holds, x elsewhere (attention masks): one op, no mask tensor of x's size. */
export function maskFill (cond: Value, x: Value, fill: number): Value {
  return where(cond, scalarLike(x, fill), x)
}
