// Ops that only move data between shapes: Reshape, Flatten, (Un)squeeze, Transpose, Expand.
import type { Value } from '../builder.js'
import { InvalidArgumentError } from '../errors.js'
import { shapeOf, reduceToShape } from '../grad-utils.js'
import { apply1, broadcastShapes, defineOp, need, type OpDef } from '../opdef.js'
import { attr, intAttr, intsAttr, normAxis, toNumbers, type Dim, type Shape } from '../types.js'
import { int64s } from './misc.js'

/** The shape a 1-D int64 shape tensor stands for, as far as it is known while building. */
function shapeFromTensor (s: Value): Shape {
  if (s.constData !== undefined) return toNumbers(s.constData)
  if (s.shapeSource !== undefined) return s.shapeSource.shape
  const n = s.shape?.[0]
  return typeof n === 'number' ? new Array<Dim>(n).fill(null) : undefined
}

function product (dims: readonly Dim[]): Dim {
  let p = 1
  for (const d of dims) {
    if (typeof d !== 'number') return dims.length === 1 ? d : null
    p *= d
  }
  return p
}

const Reshape = defineOp('Reshape', inputs => {
  const x = need(inputs[0], 'Reshape data')
  const s = need(inputs[1], 'Reshape shape')
  if (s.shapeSource !== undefined) return [{ dtype: x.dtype, shape: s.shapeSource.shape }]
  if (s.constData === undefined) return [{ dtype: x.dtype, shape: shapeFromTensor(s) }]
  const want = toNumbers(s.constData)
  const dims: Dim[] = want.map((d, i) => d === 0 ? (x.shape?.[i] ?? null) : d === -1 ? null : d)
  const neg = want.indexOf(-1)
  if (neg >= 0 && x.shape !== undefined) {
    const total = product(x.shape)
    const rest = product(dims.filter((_, i) => i !== neg))
    if (typeof total === 'number' && typeof rest === 'number') dims[neg] = total / rest
    else if (total !== null && rest === 1) dims[neg] = total
  }
  return [{ dtype: x.dtype, shape: dims }]
}, c => [c.grads[0] === null ? null : reshape(c.grads[0], shapeOf(c.inputs[0]!))])

const Flatten = defineOp('Flatten', (inputs, attrs) => {
  const x = need(inputs[0], 'Flatten input')
  if (x.shape === undefined) return [{ dtype: x.dtype, shape: [null, null] }]
  const axis = intAttr(attrs, 'axis', 1)
  const a = axis < 0 ? axis + x.shape.length : axis
  return [{ dtype: x.dtype, shape: [product(x.shape.slice(0, a)), product(x.shape.slice(a))] }]
}, c => [c.grads[0] === null ? null : reshape(c.grads[0], shapeOf(c.inputs[0]!))])

const Unsqueeze = defineOp('Unsqueeze', inputs => {
  const x = need(inputs[0], 'Unsqueeze data')
  const axesT = need(inputs[1], 'Unsqueeze axes').constData
  if (x.shape === undefined || axesT === undefined) return [{ dtype: x.dtype, shape: undefined }]
  const r = x.shape.length + axesT.data.length
  const axes = new Set(toNumbers(axesT).map(a => normAxis(a, r)))
  const out: Dim[] = []
  let j = 0
  for (let i = 0; i < r; i++) out.push(axes.has(i) ? 1 : x.shape[j++])
  return [{ dtype: x.dtype, shape: out }]
}, c => [c.grads[0] === null ? null : reshape(c.grads[0], shapeOf(c.inputs[0]!))])

const Squeeze = defineOp('Squeeze', inputs => {
  const x = need(inputs[0], 'Squeeze data')
  const axesIn = inputs[1] ?? null
  if (x.shape === undefined) return [{ dtype: x.dtype, shape: undefined }]
  const xs = x.shape
  if (axesIn === null) {
    if (xs.some(d => typeof d !== 'number')) return [{ dtype: x.dtype, shape: undefined }]
    return [{ dtype: x.dtype, shape: xs.filter(d => d !== 1) }]
  }
  if (axesIn.constData === undefined) return [{ dtype: x.dtype, shape: undefined }]
  const axes = new Set(toNumbers(axesIn.constData).map(a => normAxis(a, xs.length)))
  return [{ dtype: x.dtype, shape: xs.filter((_, i) => !axes.has(i)) }]
}, c => [c.grads[0] === null ? null : reshape(c.grads[0], shapeOf(c.inputs[0]!))])

function permOf (attrs: Parameters<OpDef['infer']>[1], rank: number): number[] {
  return intsAttr(attrs, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i)
}

const Transpose = defineOp('Transpose', (inputs, attrs) => {
  const x = need(inputs[0], 'Transpose input')
  if (x.shape === undefined) return [{ dtype: x.dtype, shape: undefined }]
  const xs = x.shape
  return [{ dtype: x.dtype, shape: permOf(attrs, xs.length).map(p => xs[p]) }]
}, c => {
  const g = c.grads[0]
  if (g === null) return [null]
  const rank = c.inputs[0]!.rank ?? intsAttr(c.attrs, 'perm')?.length
  if (rank === undefined) throw new InvalidArgumentError('Transpose gradient needs the rank or an explicit perm')
  const perm = permOf(c.attrs, rank)
  const inv = new Array<number>(rank)
  perm.forEach((p, i) => { inv[p] = i })
  return [transpose(g, inv)]
})

const Expand = defineOp('Expand', inputs => {
  const x = need(inputs[0], 'Expand input')
  const s = need(inputs[1], 'Expand shape')
  return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, shapeFromTensor(s)) }]
}, c => [c.grads[0] === null ? null : reduceToShape(c.grads[0], c.inputs[0]!)])

export const shapeOps: readonly OpDef[] = [Reshape, Flatten, Unsqueeze, Squeeze, Transpose, Expand]

// ---- builder functions ------------------------------------------------------------------

/** Reshape to a static list (0 copies a dim, -1 infers one) or to a 1-D int64 tensor. */
export function reshape (x: Value, to: readonly number[] | Value): Value {
  return apply1(Reshape, [x, Array.isArray(to) ? int64s(x, to as number[]) : to as Value])
}

export function flatten (x: Value, axis = 1): Value {
  return apply1(Flatten, [x], { axis: attr.int(axis) })
}

export function unsqueeze (x: Value, axes: readonly number[]): Value {
  return apply1(Unsqueeze, [x, int64s(x, axes)])
}

export function squeeze (x: Value, axes?: readonly number[]): Value {
  return apply1(Squeeze, [x, axes === undefined ? null : int64s(x, axes)])
}

export function transpose (x: Value, perm: readonly number[]): Value {
  return apply1(Transpose, [x], { perm: attr.ints(perm) })
}

export function expand (x: Value, to: readonly number[] | Value): Value {
  return apply1(Expand, [x, Array.isArray(to) ? int64s(x, to as number[]) : to as Value])
}
