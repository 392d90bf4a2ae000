// Helpers that gradient rules share: static-or-runtime shapes, broadcast reduction, zeros.
import type { Value } from './builder.js'
import { ShapeError } from './errors.js'
import { reshape } from './ops/shape.js'
import { concat } from './ops/slicing.js'
import { constantOfShape, equal, int64Scalar, int64s, nonZero, not, shape, size } from './ops/misc.js'
import { div } from './ops/elementwise.js'
import { matmul } from './ops/linalg.js'
import { reduceSum } from './ops/reduce.js'
import { gather } from './ops/gather.js'
import { isStatic, numel, tensor, type Dim } from './types.js'

const runtimeShapes = new WeakMap<Value, Value>()

/**
 * The shape of x as a 1-D int64 tensor: a constant when x's shape is static (ORT then
 * needs no Shape node at run time), else one shared Shape(x) node.
 */
export function shapeOf (x: Value): Value {
  if (isStatic(x.shape)) return int64s(x, x.shape)
  let s = runtimeShapes.get(x)
  if (s === undefined) {
    s = shape(x)
    runtimeShapes.set(x, s)
  }
  return s
}

/** Dimension `axis` of x as an int64 [1] tensor (constant when static). */
export function dimOf (x: Value, axis: number): Value {
  const d = x.shape?.[axis]
  if (typeof d === 'number') return int64s(x, [d])
  return gather(shapeOf(x), int64s(x, [axis]), 0)
}

/** Dimension `axis` of x as an int64 scalar (constant when static). */
export function dimScalar (x: Value, axis: number): Value {
  const d = x.shape?.[axis]
  if (typeof d === 'number') return int64Scalar(x, d)
  return gather(shapeOf(x), int64Scalar(x, axis), 0)
}

/** Zeros with the shape and element type of x. */
export function zerosLike (x: Value): Value {
  if (isStatic(x.shape) && numel(x.shape) <= 16) {
    return x.graph.constant(tensor(x.dtype, x.shape, new Array<number>(numel(x.shape)).fill(0)))
  }
  return constantOfShape(shapeOf(x), 0, x.dtype)
}

function sameDim (a: Dim, b: Dim): boolean {
  return a !== null && a === b
}

/**
 * Sums a gradient that arrived at a broadcast result back to the shape of the operand
 * that was broadcast. Axes are worked out while building when the shapes say enough
 * (the usual case: bias [H] against [B, H] with a symbolic batch); otherwise the axes are
 * computed at run time from Shape(operand) vs Shape(grad).
 */
export function reduceToShape (grad: Value, target: Value): Value {
  const gs = grad.shape
  const ts = target.shape
  if (gs === undefined || ts === undefined) throw new ShapeError(`broadcast gradient needs known ranks ("${grad.name}" vs "${target.name}")`)
  const rd = gs.length - ts.length
  if (rd < 0) throw new ShapeError(`gradient "${grad.name}" has lower rank than its operand "${target.name}"`)
  const lead = Array.from({ length: rd }, (_, i) => i)
  const inner: number[] = []
  let dynamic = false
  for (let i = 0; i < ts.length; i++) {
    const td = ts[i]
    const gd = gs[i + rd]
    if (sameDim(td, gd) || gd === 1) continue
    if (td === 1) { inner.push(i + rd); continue }
    if (typeof td === 'number') continue // td > 1 broadcasts only against itself
    dynamic = true // td unknown: it could be 1 or equal gd
  }
  if (dynamic) return reduceToShapeAtRunTime(grad, target, rd)
  if (lead.length === 0 && inner.length === 0) return grad
  if (inner.length === 0) return sumLeading(grad, target, rd)
  const r = reduceSum(grad, [...lead, ...inner], true)
  return rd === 0 ? r : reshape(r, shapeOf(target))
}

/**
 * Sums the leading `rd` axes away (the bias-gradient case, [B, H] → [H]) as ones[1, N]·g:
 * ORT's ReduceSum over a leading axis runs about 10× slower than this one-row MatMul.
 */
function sumLeading (grad: Value, target: Value, rd: number): Value {
  if (!isStatic(target.shape)) return reduceSum(grad, Array.from({ length: rd }, (_, i) => i), false)
  const rest = numel(target.shape)
  const rows = grad.rank === 2 && rd === 1 ? grad : reshape(grad, [-1, rest])
  const sum = matmul(onesRow(grad, rd, rest), rows)
  return reshape(sum, target.shape.length === 0 ? [] : target.shape)
}

/** ones [1, N] in grad's type, N = product of grad's first `rd` dims (constant when static and small). */
function onesRow (grad: Value, rd: number, rest: number): Value {
  const lead = grad.shape!.slice(0, rd)
  if (lead.every(d => typeof d === 'number')) {
    const n = numel(lead as number[])
    if (n <= 4096) return grad.graph.constant(tensor(grad.dtype, [1, n], new Array<number>(n).fill(1)))
    return constantOfShape(int64s(grad, [1, n]), 1, grad.dtype)
  }
  // equal symbols mean equal sizes, so every [B, …] gradient in a graph shares one row
  const key = lead.every(d => typeof d === 'string') ? `ones:${grad.dtype}:${lead.join('*')}` : undefined
  const hit = key === undefined ? undefined : grad.graph.memo.get(key)
  if (hit !== undefined) return hit
  const n = rd === 1 ? dimOf(grad, 0) : reshape(div(size(grad), int64Scalar(grad, rest)), [1])
  const ones = constantOfShape(concat([int64s(grad, [1]), n], 0), 1, grad.dtype)
  if (key !== undefined) grad.graph.memo.set(key, ones)
  return ones
}

function reduceToShapeAtRunTime (grad: Value, target: Value, rd: number): Value {
  let ts = shapeOf(target)
  if (rd > 0) ts = concat([int64s(grad, new Array<number>(rd).fill(1)), ts], 0)
  const axes = reshape(nonZero(not(equal(ts, shapeOf(grad)))), [-1])
  const r = reduceSum(grad, axes, true, true)
  return reshape(r, shapeOf(target))
}
