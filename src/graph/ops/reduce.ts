// Reductions over axes given as an input (opset 18): ReduceSum, ReduceMean, ReduceSumSquare, ReduceMax.
import type { Value } from '../builder.js'
import { ShapeError } from '../errors.js'
import { shapeOf } from '../grad-utils.js'
import { apply1, defineOp, need, type GradCall, type OpDef } from '../opdef.js'
import { attr, intAttr, normAxis, toNumbers, type Dim } from '../types.js'
import { cast, int64s, size } from './misc.js'
import { div, mul } from './elementwise.js'
import { expand, unsqueeze } from './shape.js'

/** Reduced axes when they are known while building; 'all' for the no-axes form; undefined if run-time. */
function reducedAxes (inputs: ReadonlyArray<Value | null>, attrs: GradCall['attrs'], rank: number): number[] | 'all' | 'none' | undefined {
  const axesIn = inputs[1] ?? null
  if (axesIn === null || (axesIn.constData !== undefined && axesIn.constData.data.length === 0)) {
    return intAttr(attrs, 'noop_with_empty_axes', 0) === 1 ? 'none' : 'all'
  }
  if (axesIn.constData === undefined) return undefined
  return [...new Set(toNumbers(axesIn.constData).map(a => normAxis(a, rank)))].sort((a, b) => a - b)
}

function reduceInfer (inputs: ReadonlyArray<Value | null>, attrs: GradCall['attrs']): Array<{ dtype: Value['dtype'], shape: Value['shape'] }> {
  const x = need(inputs[0], 'reduce input')
  if (x.shape === undefined) return [{ dtype: x.dtype, shape: undefined }]
  const keep = intAttr(attrs, 'keepdims', 1) === 1
  const axes = reducedAxes(inputs, attrs, x.shape.length)
  if (axes === 'none') return [{ dtype: x.dtype, shape: x.shape }]
  if (axes === undefined) return [{ dtype: x.dtype, shape: keep ? x.shape.map(() => null) : undefined }]
  const set = new Set(axes === 'all' ? x.shape.map((_, i) => i) : axes)
  const shape: Dim[] = keep ? x.shape.map((d, i) => set.has(i) ? 1 : d) : x.shape.filter((_, i) => !set.has(i))
  return [{ dtype: x.dtype, shape }]
}

/** Broadcasts the output gradient back over the reduced axes. */
function spread (c: GradCall): Value | null {
  const g = c.grads[0]!
  const x = c.inputs[0]!
  if (x.rank === undefined) throw new ShapeError('reduction gradient needs the input rank')
  const axes = reducedAxes(c.inputs, c.attrs, x.rank)
  if (axes === 'none') return g
  const keep = intAttr(c.attrs, 'keepdims', 1) === 1
  let gg = g
  if (!keep && axes !== 'all') {
    if (axes === undefined) throw new ShapeError('reduction gradient with keepdims=0 needs constant axes')
    gg = unsqueeze(g, axes)
  }
  return expand(gg, shapeOf(x))
}

/** 1/count of reduced elements: a constant when the reduced dims are static. */
function meanScale (c: GradCall, g: Value): Value | number {
  const x = c.inputs[0]!
  const y = c.outputs[0]
  const axes = reducedAxes(c.inputs, c.attrs, x.rank ?? 0)
  if (x.shape !== undefined && axes !== undefined) {
    const dims = axes === 'all' ? x.shape : axes === 'none' ? [] : axes.map(a => x.shape![a])
    if (dims.every(d => typeof d === 'number')) return 1 / (dims as number[]).reduce((a, b) => a * b, 1)
  }
  return div(cast(size(y), g.dtype), cast(size(x), g.dtype))
}

const ReduceSum = defineOp('ReduceSum', reduceInfer, c => [spread(c), null])

const ReduceMean = defineOp('ReduceMean', reduceInfer, c => {
  const scaled = { ...c, grads: [mul(c.grads[0]!, meanScale(c, c.grads[0]!))] }
  return [spread(scaled), null]
})

const ReduceSumSquare = defineOp('ReduceSumSquare', reduceInfer, c => {
  const x = c.inputs[0]!
  return [mul(spread(c)!, mul(x, 2)), null]
})

// max has a subgradient only; no rule until a model needs it
const ReduceMax = defineOp('ReduceMax', reduceInfer)

export const reduceOps: readonly OpDef[] = [ReduceSum, ReduceMean, ReduceSumSquare, ReduceMax]

// ---- builder functions ------------------------------------------------------------------

type Axes = readonly number[] | Value | undefined

function reduceInputs (x: Value, axes: Axes): Array<Value | null> {
  if (axes === undefined) return [x]
  return [x, Array.isArray(axes) ? int64s(x, axes as number[]) : axes as Value]
}

function reduceAttrs (keepdims: boolean, noop: boolean): Record<string, ReturnType<typeof attr.int>> {
  const a: Record<string, ReturnType<typeof attr.int>> = { keepdims: attr.int(keepdims) }
  if (noop) a.noop_with_empty_axes = attr.int(1)
  return a
}

/** Sum over `axes` (all axes when undefined). */
export function reduceSum (x: Value, axes?: Axes, keepdims = true, noopWithEmptyAxes = false): Value {
  return apply1(ReduceSum, reduceInputs(x, axes), reduceAttrs(keepdims, noopWithEmptyAxes))
}

export function reduceMean (x: Value, axes?: Axes, keepdims = true): Value {
  return apply1(ReduceMean, reduceInputs(x, axes), reduceAttrs(keepdims, false))
}

export function reduceSumSquare (x: Value, axes?: Axes, keepdims = true): Value {
  return apply1(ReduceSumSquare, reduceInputs(x, axes), reduceAttrs(keepdims, false))
}

export function reduceMax (x: Value, axes?: Axes, keepdims = true): Value {
  return apply1(ReduceMax, reduceInputs(x, axes), reduceAttrs(keepdims, false))
}
