// Nonlinearities and normalisers: Relu, Tanh, Sigmoid, Softmax, LogSoftmax.
import type { Value } from '../builder.js'
import { apply1, defineOp, sameAs, type OpDef } from '../opdef.js'
import { attr, intAttr } from '../types.js'
import { exp, mul, sub } from './elementwise.js'
import { greater, scalarLike } from './misc.js'
import { reduceSum } from './reduce.js'
import { where } from './select.js'

// ReluGrad lives in com.microsoft training ops, absent from this build: mask with Where
const Relu = defineOp('Relu', sameAs(0), c => {
  const y = c.outputs[0]
  const zero = scalarLike(y, 0)
  return [where(greater(y, zero), c.grads[0]!, zero)]
})

const Tanh = defineOp('Tanh', sameAs(0), c => {
  const y = c.outputs[0]
  return [mul(c.grads[0]!, sub(1, mul(y, y)))]
})

const Sigmoid = defineOp('Sigmoid', sameAs(0), c => {
  const y = c.outputs[0]
  return [mul(c.grads[0]!, mul(y, sub(1, y)))]
})

const Softmax = defineOp('Softmax', sameAs(0), c => {
  const y = c.outputs[0]
  const g = c.grads[0]!
  const axis = intAttr(c.attrs, 'axis', -1)
  // dx = y * (g - sum(g * y))
  return [mul(y, sub(g, reduceSum(mul(g, y), [axis], true)))]
})

const LogSoftmax = defineOp('LogSoftmax', sameAs(0), c => {
  const y = c.outputs[0]
  const g = c.grads[0]!
  const axis = intAttr(c.attrs, 'axis', -1)
  // dx = g - softmax(x) * sum(g)
  return [sub(g, mul(exp(y), reduceSum(g, [axis], true)))]
})

export const activationOps: readonly OpDef[] = [Relu, Tanh, Sigmoid, Softmax, LogSoftmax]

// ---- builder functions ------------------------------------------------------------------

export function relu (x: Value): Value { return apply1(Relu, [x]) }
export function tanh (x: Value): Value { return apply1(Tanh, [x]) }
export function sigmoid (x: Value): Value { return apply1(Sigmoid, [x]) }
export function softmax (x: Value, axis = -1): Value { return apply1(Softmax, [x], { axis: attr.int(axis) }) }
export function logSoftmax (x: Value, axis = -1): Value { return apply1(LogSoftmax, [x], { axis: attr.int(axis) }) }
