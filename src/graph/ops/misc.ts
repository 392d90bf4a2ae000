// Small ops that mostly carry no gradient: shapes, sizes, casts, comparisons, index helpers, constants.
import type { GraphBuilder, Value } from '../builder.js'
import { InvalidArgumentError } from '../errors.js'
import { apply1, broadcastShapes, defineOp, need, sameAs, type OpDef } from '../opdef.js'
import { attr, intAttr, isFloat, normAxis, tensor, type Attrs, type DType, type TensorData } from '../types.js'

const Shape = defineOp('Shape', (inputs, attrs) => {
  const x = need(inputs[0], 'Shape input')
  let n: number | null = null
  if (x.shape !== undefined) {
    const r = x.shape.length
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r)
    n = Math.max(0, clamp(intAttr(attrs, 'end', r)) - clamp(intAttr(attrs, 'start', 0)))
  }
  return [{ dtype: 'int64', shape: [n] }]
})

const Size = defineOp('Size', () => [{ dtype: 'int64', shape: [] }])

const Identity = defineOp('Identity', sameAs(0), c => [c.grads[0]])

const Cast = defineOp('Cast', (inputs, attrs) => {
  const x = need(inputs[0], 'Cast input')
  return [{ dtype: dtypeFromOnnx(intAttr(attrs, 'to', 1)), shape: x.shape }]
}, c => {
  const x = c.inputs[0]!
  const g = c.grads[0]
  // only float-to-float casts carry a gradient; autodiff never routes one through ints
  return [g === null || !isFloat(x.dtype) ? null : cast(g, x.dtype)]
})

function compareInfer (inputs: ReadonlyArray<Value | null>): Array<{ dtype: DType, shape: Value['shape'] }> {
  const a = need(inputs[0], 'lhs')
  const b = need(inputs[1], 'rhs')
  return [{ dtype: 'bool', shape: broadcastShapes(a.shape, b.shape) }]
}

const Equal = defineOp('Equal', compareInfer)
const Greater = defineOp('Greater', compareInfer)
const Less = defineOp('Less', compareInfer)
const Not = defineOp('Not', sameAs(0))

const ArgMax = defineOp('ArgMax', (inputs, attrs) => {
  const x = need(inputs[0], 'ArgMax input')
  if (x.shape === undefined) return [{ dtype: 'int64', shape: undefined }]
  const axis = normAxis(intAttr(attrs, 'axis', 0), x.shape.length)
  const keep = intAttr(attrs, 'keepdims', 1) === 1
  const shape = keep ? x.shape.map((d, i) => i === axis ? 1 : d) : x.shape.filter((_, i) => i !== axis)
  return [{ dtype: 'int64', shape }]
})

const NonZero = defineOp('NonZero', inputs => {
  const x = need(inputs[0], 'NonZero input')
  return [{ dtype: 'int64', shape: [x.rank ?? null, null] }]
})

const Range = defineOp('Range', inputs => {
  const [s, l, d] = inputs.map(v => v?.constData)
  let n: number | null = null
  if (s !== undefined && l !== undefined && d !== undefined) {
    n = Math.max(Math.ceil((Number(l.data[0]) - Number(s.data[0])) / Number(d.data[0])), 0)
  }
  return [{ dtype: need(inputs[0], 'Range start').dtype, shape: [n] }]
})

const ConstantOfShape = defineOp('ConstantOfShape', (inputs, attrs) => {
  const shapeIn = need(inputs[0], 'ConstantOfShape shape')
  const a = attrs.value
  const dtype: DType = a?.kind === 'tensor' ? a.value.dtype : 'float32'
  if (shapeIn.constData !== undefined) return [{ dtype, shape: Array.from(shapeIn.constData.data as BigInt64Array, Number) }]
  if (shapeIn.shapeSource !== undefined) return [{ dtype, shape: shapeIn.shapeSource.shape }]
  const n = shapeIn.shape?.[0]
  return [{ dtype, shape: typeof n === 'number' ? new Array<null>(n).fill(null) : undefined }]
})

/**
 * The tensor a Constant node's attributes define: `value`, or the shorthands `value_float(s)`
 * (float32) and `value_int(s)` (int64) that exporters such as PyTorch also write.
 */
export function constantValue (attrs: Attrs): TensorData {
  const names = Object.keys(attrs)
  if (names.length !== 1) throw new InvalidArgumentError(`Constant needs exactly one value attribute, got [${names.join(', ')}]`)
  const name = names[0]
  const a = attrs[name]
  if (name === 'value' && a.kind === 'tensor') return a.value
  if (name === 'value_float' && a.kind === 'float') return tensor('float32', [], [a.value])
  if (name === 'value_floats' && a.kind === 'floats') return tensor('float32', [a.value.length], a.value)
  if (name === 'value_int' && a.kind === 'int') return tensor('int64', [], [a.value])
  if (name === 'value_ints' && a.kind === 'ints') return tensor('int64', [a.value.length], a.value)
  throw new InvalidArgumentError(`unsupported Constant attribute ${name} (${a.kind})`)
}

// no inputs, so no gradient rule: autodiff never reaches it (GraphBuilder.constant writes these nodes)
const Constant = defineOp('Constant', (inputs, attrs) => {
  if (inputs.length > 0) throw new InvalidArgumentError('Constant takes no inputs')
  const t = constantValue(attrs)
  return [{ dtype: t.dtype, shape: t.shape }]
})

export const miscOps: readonly OpDef[] = [Shape, Size, Identity, Cast, Equal, Greater, Less, Not, ArgMax, NonZero, Range, ConstantOfShape, Constant]

const DTYPE_BY_CODE: Record<number, DType> = { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' }
const CODE_BY_DTYPE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 }

function dtypeFromOnnx (code: number): DType {
  const dt = DTYPE_BY_CODE[code]
  if (dt === undefined) throw new InvalidArgumentError(`unsupported ONNX element type ${code}`)
  return dt
}

// ---- builder functions ------------------------------------------------------------------

/** Shape(x) at run time; prefer shapeOf() in rules, which folds static shapes to constants. */
export function shape (x: Value, start?: number, end?: number): Value {
  const attrs: Record<string, ReturnType<typeof attr.int>> = {}
  if (start !== undefined) attrs.start = attr.int(start)
  if (end !== undefined) attrs.end = attr.int(end)
  const out = apply1(Shape, [x], attrs)
  if (start === undefined && end === undefined) out.shapeSource = x
  return out
}

export function size (x: Value): Value {
  return apply1(Size, [x])
}

export function identity (x: Value): Value {
  return apply1(Identity, [x])
}

export function cast (x: Value, to: DType): Value {
  if (x.dtype === to) return x
  return apply1(Cast, [x], { to: attr.int(CODE_BY_DTYPE[to]) })
}

export function equal (a: Value, b: Value): Value { return apply1(Equal, [a, b]) }
export function greater (a: Value, b: Value): Value { return apply1(Greater, [a, b]) }
export function less (a: Value, b: Value): Value { return apply1(Less, [a, b]) }
export function not (a: Value): Value { return apply1(Not, [a]) }

export function argMax (x: Value, axis: number, keepdims = false): Value {
  return apply1(ArgMax, [x], { axis: attr.int(axis), keepdims: attr.int(keepdims) })
}

export function nonZero (x: Value): Value { return apply1(NonZero, [x]) }

export function range (start: Value, limit: Value, delta: Value): Value {
  return apply1(Range, [start, limit, delta])
}

/** A tensor of `value` whose shape is given by a 1-D int64 tensor (static or run time). */
export function constantOfShape (shapeTensor: Value, value: number, dtype: DType): Value {
  return apply1(ConstantOfShape, [shapeTensor], { value: attr.tensor(tensor(dtype, [1], [value])) })
}

// ---- constants ----------------------------------------------------------------------------

/** A scalar constant with like's element type, in like's graph. */
export function scalarLike (like: Value, value: number): Value {
  return like.graph.constant(tensor(like.dtype, [], [value]))
}

/** A 1-D int64 constant (axes, shapes, split sizes). */
export function int64s (where: Value | GraphBuilder, values: readonly number[]): Value {
  const g = 'graph' in where ? where.graph : where
  return g.constant(tensor('int64', [values.length], values))
}

export function int64Scalar (where: Value | GraphBuilder, value: number): Value {
  const g = 'graph' in where ? where.graph : where
  return g.constant(tensor('int64', [], [value]))
}

export function constTensor (where: Value | GraphBuilder, t: TensorData): Value {
  const g = 'graph' in where ? where.graph : where
  return g.constant(t)
}

/**
 * A Constant node from its ONNX attributes, as an exported graph spells them (`value` tensor or
 * a `value_float(s)`/`value_int(s)` shorthand, normalised to `value`). The result carries its
 * data while building (constData), like every constant of the builder.
 */
export function constant (where: Value | GraphBuilder, attrs: Attrs): Value {
  const g = 'graph' in where ? where.graph : where
  return g.constant(constantValue(attrs))
}
