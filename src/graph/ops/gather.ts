// Indexed reads and writes: Gather (with its scatter-add gradient), ScatterND, ScatterElements.
import type { Value } from '../builder.js'
import { dimScalar, shapeOf } from '../grad-utils.js'
import { apply1, defineOp, need, requireRank, sameAs, type OpDef } from '../opdef.js'
import { attr, intAttr, type AttrValue, isStatic, normAxis, toNumbers, type Dim } from '../types.js'
import { add } from './elementwise.js'
import { constantOfShape, int64s, less, scalarLike } from './misc.js'
import { transpose, unsqueeze } from './shape.js'
import { where } from './select.js'

const Gather = defineOp('Gather', (inputs, attrs) => {
  const x = need(inputs[0], 'Gather data')
  const idx = need(inputs[1], 'Gather indices')
  if (x.shape === undefined || idx.shape === undefined) return [{ dtype: x.dtype, shape: undefined }]
  const axis = normAxis(intAttr(attrs, 'axis', 0), x.shape.length)
  return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }]
}, c => {
  const g = c.grads[0]
  if (g === null || !c.needs[0]) return [null, null]
  const x = c.inputs[0]!
  let idx = c.inputs[1]!
  const r = requireRank(x, 'Gather gradient')
  const q = requireRank(idx, 'Gather gradient')
  const axis = normAxis(intAttr(c.attrs, 'axis', 0), r)
  if (idx.constData === undefined || toNumbers(idx.constData).some(i => i < 0)) {
    // ScatterND wants indices in range; Gather also accepts negative ones
    idx = where(less(idx, scalarLike(idx, 0)), add(idx, dimScalar(x, axis)), idx)
  }
  const ids = unsqueeze(idx, [-1])
  if (axis === 0) return [scatterND(constantOfShape(shapeOf(x), 0, x.dtype), ids, g, 'add'), null]
  // scatter along the leading axis: move the indexed axis of x (and the index block of g) first
  const permX = [axis, ...range(0, axis), ...range(axis + 1, r)]
  const permG = [...range(axis, axis + q), ...range(0, axis), ...range(axis + q, r - 1 + q)]
  const xsT: Value = isStatic(x.shape) ? int64s(x, permX.map(p => (x.shape as number[])[p])) : gather(shapeOf(x), int64s(x, permX), 0)
  const scattered = scatterND(constantOfShape(xsT, 0, x.dtype), ids, transpose(g, permG), 'add')
  const inv = new Array<number>(r)
  permX.forEach((p, i) => { inv[p] = i })
  return [transpose(scattered, inv), null]
})

function range (a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i)
}

const ScatterND = defineOp('ScatterND', sameAs(0))
const ScatterElements = defineOp('ScatterElements', sameAs(0))

const GatherElements = defineOp('GatherElements', inputs => {
  const x = need(inputs[0], 'GatherElements data')
  const idx = need(inputs[1], 'GatherElements indices')
  return [{ dtype: x.dtype, shape: idx.shape as Dim[] | undefined }]
})

export const gatherOps: readonly OpDef[] = [Gather, ScatterND, ScatterElements, GatherElements]

// ---- builder functions ------------------------------------------------------------------

export function gather (x: Value, indices: Value, axis = 0): Value {
  return apply1(Gather, [x, indices], { axis: attr.int(axis) })
}

export function gatherElements (x: Value, indices: Value, axis = 0): Value {
  return apply1(GatherElements, [x, indices], { axis: attr.int(axis) })
}

export type ScatterReduction = 'none' | 'add' | 'mul' | 'max' | 'min'

export function scatterND (data: Value, indices: Value, updates: Value, reduction: ScatterReduction = 'none'): Value {
  return apply1(ScatterND, [data, indices, updates], reduction === 'none' ? {} : { reduction: attr.string(reduction) })
}

export function scatterElements (data: Value, indices: Value, updates: Value, axis = 0, reduction: ScatterReduction = 'none'): Value {
  const attrs: Record<string, AttrValue> = { axis: attr.int(axis) }
  if (reduction !== 'none') attrs.reduction = attr.string(reduction)
  return apply1(ScatterElements, [data, indices, updates], attrs)
}
