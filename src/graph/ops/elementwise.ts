// Elementwise arithmetic with broadcasting (Add, Sub, Mul, Div, Pow, Max, Min) and pointwise math (Neg, Sqrt, Exp, Log, Erf, Abs).
import type { Value } from '../builder.js'
import { InvalidArgumentError } from '../errors.js'
import { reduceToShape } from '../grad-utils.js'
import { apply1, broadcastInfer, defineOp, sameAs, type OpDef } from '../opdef.js'
import { scalarLike } from './misc.js'

/** Gradient of a broadcasting binary op: reduce each contribution to its operand's shape. */
function toOperands (c: { inputs: ReadonlyArray<Value | null>, needs: readonly boolean[] }, da: () => Value, db: () => Value): Array<Value | null> {
  return [
    c.needs[0] ? reduceToShape(da(), c.inputs[0]!) : null,
    c.needs[1] ? reduceToShape(db(), c.inputs[1]!) : null
  ]
}

const Add = defineOp('Add', broadcastInfer, c => {
  const g = c.grads[0]!
  return toOperands(c, () => g, () => g)
})

const Sub = defineOp('Sub', broadcastInfer, c => {
  const g = c.grads[0]!
  return toOperands(c, () => g, () => neg(g))
})

const Mul = defineOp('Mul', broadcastInfer, c => {
  const g = c.grads[0]!
  const [a, b] = c.inputs as Value[]
  return toOperands(c, () => mul(g, b), () => mul(g, a))
})

const Div = defineOp('Div', broadcastInfer, c => {
  const g = c.grads[0]!
  const b = c.inputs[1]!
  const y = c.outputs[0]
  // d(a/b)/db = -a/b² = -y/b
  return toOperands(c, () => div(g, b), () => neg(div(mul(g, y), b)))
})

const Pow = defineOp('Pow', inputs => [{ dtype: inputs[0]!.dtype, shape: broadcastInfer(inputs)[0].shape }], c => {
  const g = c.grads[0]!
  const [a, b] = c.inputs as Value[]
  const y = c.outputs[0]
  if (c.needs[1] && b.dtype !== a.dtype) throw new InvalidArgumentError('Pow gradient w.r.t. an exponent of another type')
  return toOperands(c,
    () => mul(g, mul(b.dtype === a.dtype ? b : scalarCast(b, a), pow(a, sub(b, 1)))),
    () => mul(g, mul(y, log(a))))
})

function scalarCast (b: Value, like: Value): Value {
  const v = b.constData
  if (v === undefined || v.data.length !== 1) throw new InvalidArgumentError('Pow gradient needs the exponent in the base type or a constant scalar')
  return scalarLike(like, Number(v.data[0]))
}

const Neg = defineOp('Neg', sameAs(0), c => [neg(c.grads[0]!)])

const Sqrt = defineOp('Sqrt', sameAs(0), c => [div(mul(c.grads[0]!, 0.5), c.outputs[0])])

const Exp = defineOp('Exp', sameAs(0), c => [mul(c.grads[0]!, c.outputs[0])])

const Log = defineOp('Log', sameAs(0), c => [div(c.grads[0]!, c.inputs[0]!)])

const Abs = defineOp('Abs', sameAs(0), c => [mul(c.grads[0]!, sign(c.inputs[0]!))])

const Sign = defineOp('Sign', sameAs(0))

const Erf = defineOp('Erf', sameAs(0), c => {
  const x = c.inputs[0]!
  // d erf(x)/dx = 2/sqrt(pi) * exp(-x²)
  return [mul(c.grads[0]!, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]
})

// subgradients only; no rule until a model differentiates through them
const Max = defineOp('Max', broadcastInfer)
const Min = defineOp('Min', broadcastInfer)

export const elementwiseOps: readonly OpDef[] = [Add, Sub, Mul, Div, Pow, Neg, Sqrt, Exp, Log, Abs, Sign, Erf, Max, Min]

// ---- builder functions ------------------------------------------------------------------

/** A binary operand: a tensor, or a number that becomes a scalar of the other side's type. */
export type Operand = Value | number

function operands (a: Operand, b: Operand): [Value, Value] {
  if (typeof a === 'number' && typeof b === 'number') throw new InvalidArgumentError('binary op on two numbers')
  const av = typeof a === 'number' ? scalarLike(b as Value, a) : a
  const bv = typeof b === 'number' ? scalarLike(av, b) : b
  return [av, bv]
}

export function add (a: Operand, b: Operand): Value { return apply1(Add, operands(a, b)) }
export function sub (a: Operand, b: Operand): Value { return apply1(Sub, operands(a, b)) }
export function mul (a: Operand, b: Operand): Value { return apply1(Mul, operands(a, b)) }
export function div (a: Operand, b: Operand): Value { return apply1(Div, operands(a, b)) }
export function pow (a: Operand, b: Operand): Value { return apply1(Pow, operands(a, b)) }
export function max (a: Operand, b: Operand): Value { return apply1(Max, operands(a, b)) }
export function min (a: Operand, b: Operand): Value { return apply1(Min, operands(a, b)) }
export function neg (x: Value): Value { return apply1(Neg, [x]) }
export function sqrt (x: Value): Value { return apply1(Sqrt, [x]) }
export function exp (x: Value): Value { return apply1(Exp, [x]) }
export function log (x: Value): Value { return apply1(Log, [x]) }
export function abs (x: Value): Value { return apply1(Abs, [x]) }
export function sign (x: Value): Value { return apply1(Sign, [x]) }
export function erf (x: Value): Value { return apply1(Erf, [x]) }
