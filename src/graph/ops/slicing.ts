// Ops that cut and join along axes: Concat, Split, Slice, Pad.
import type { Value } from '../builder.js'
import { InvalidArgumentError } from '../errors.js'
import { dimOf, shapeOf, zerosLike } from '../grad-utils.js'
import { apply, apply1, defineOp, need, type OpDef } from '../opdef.js'
import { attr, intAttr, normAxis, toNumbers, type Dim } from '../types.js'
import { constantOfShape, int64Scalar, int64s, range, size } from './misc.js'
import { reshape } from './shape.js'
import { scatterElements } from './gather.js'

const Concat = defineOp('Concat', (inputs, attrs) => {
  const xs = inputs.map((v, i) => need(v, `Concat input ${i}`))
  const first = xs.find(x => x.shape !== undefined)
  if (first?.shape === undefined) return [{ dtype: xs[0].dtype, shape: undefined }]
  const rank = first.shape.length
  const axis = normAxis(intAttr(attrs, 'axis', 0), rank)
  const out: Dim[] = [...first.shape]
  let total: Dim = 0
  for (const x of xs) {
    const d = x.shape?.[axis] ?? null
    total = typeof total === 'number' && typeof d === 'number' ? total + d : null
  }
  out[axis] = total
  return [{ dtype: xs[0].dtype, shape: out }]
}, c => {
  const g = c.grads[0]
  if (g === null) return c.inputs.map(() => null)
  const axis = normAxis(intAttr(c.attrs, 'axis', 0), g.rank ?? 0)
  const xs = c.inputs as Value[]
  const dims = xs.map(x => x.shape?.[axis])
  const sizes = dims.every(d => typeof d === 'number')
    ? dims as number[]
    : concat(xs.map(x => dimOf(x, axis)), 0)
  return split(g, sizes, axis, xs.length)
})

const Split = defineOp('Split', (inputs, attrs) => {
  const x = need(inputs[0], 'Split input')
  const s = inputs[1] ?? null
  const count = s === null ? intAttr(attrs, 'num_outputs', 0) : s.shape?.[0]
  if (typeof count !== 'number' || count <= 0) throw new InvalidArgumentError('Split needs a static number of outputs')
  if (x.shape === undefined) return new Array(count).fill({ dtype: x.dtype, shape: undefined })
  const xs = x.shape
  const axis = normAxis(intAttr(attrs, 'axis', 0), xs.length)
  let sizes: Dim[]
  if (s?.constData !== undefined) sizes = toNumbers(s.constData)
  else if (s === null && typeof xs[axis] === 'number' && (xs[axis] as number) % count === 0) sizes = new Array<Dim>(count).fill((xs[axis] as number) / count)
  else sizes = new Array<Dim>(count).fill(null)
  return sizes.map(d => ({ dtype: x.dtype, shape: xs.map((e, i) => i === axis ? d : e) }))
}, c => {
  if (c.grads.every(g => g === null)) return [null]
  const x = c.inputs[0]!
  const axis = normAxis(intAttr(c.attrs, 'axis', 0), x.rank ?? 0)
  // outputs nobody used still occupy their slot in the input: fill them with zeros
  const parts = c.outputs.map((o, i) => c.grads[i] ?? zerosLike(o))
  return [concat(parts, axis)]
})

interface SliceSpec { starts: number[], ends: number[], axes: number[], steps: number[] }

/** Static slice parameters, or undefined when any of them is only known at run time. */
function sliceSpec (inputs: ReadonlyArray<Value | null>, rank: number): SliceSpec | undefined {
  const [, st, en, ax, sp] = inputs
  if (st?.constData === undefined || en?.constData === undefined) return undefined
  if ((ax ?? null) !== null && ax!.constData === undefined) return undefined
  if ((sp ?? null) !== null && sp!.constData === undefined) return undefined
  const starts = toNumbers(st.constData)
  const ends = toNumbers(en.constData)
  const axes = ax?.constData !== undefined ? toNumbers(ax.constData).map(a => normAxis(a, rank)) : starts.map((_, i) => i)
  const steps = sp?.constData !== undefined ? toNumbers(sp.constData) : starts.map(() => 1)
  return { starts, ends, axes, steps }
}

/** ONNX Slice clamping for one axis of size d: [first index, element count]. */
function sliceRange (d: number, s: number, e: number, k: number): [number, number] {
  if (s < 0) s += d
  if (e < 0) e += d
  if (k > 0) {
    s = Math.min(Math.max(s, 0), d)
    e = Math.min(Math.max(e, 0), d)
  } else {
    s = Math.min(Math.max(s, 0), d - 1)
    e = Math.min(Math.max(e, -1), d - 1)
  }
  return [s, Math.max(0, Math.ceil((e - s) / k))]
}

const Slice = defineOp('Slice', inputs => {
  const x = need(inputs[0], 'Slice data')
  if (x.shape === undefined) return [{ dtype: x.dtype, shape: undefined }]
  const xs = x.shape
  const spec = sliceSpec(inputs, xs.length)
  if (spec === undefined) return [{ dtype: x.dtype, shape: xs.map(() => null) }]
  const out: Dim[] = [...xs]
  spec.axes.forEach((a, i) => {
    const d = xs[a]
    out[a] = typeof d === 'number' ? sliceRange(d, spec.starts[i], spec.ends[i], spec.steps[i])[1] : null
  })
  return [{ dtype: x.dtype, shape: out }]
}, c => {
  const g = c.grads[0]
  const x = c.inputs[0]!
  if (g === null || !c.needs[0]) return [null]
  const xs = x.shape
  const spec = xs === undefined ? undefined : sliceSpec(c.inputs, xs.length)
  if (xs !== undefined && spec !== undefined && spec.steps.every(k => k === 1) && spec.axes.every(a => typeof xs[a] === 'number')) {
    // unit steps with static bounds: the gradient is the slice padded back with zeros
    const pads = new Array<number>(2 * xs.length).fill(0)
    spec.axes.forEach((a, i) => {
      const d = xs[a] as number
      const [s, n] = sliceRange(d, spec.starts[i], spec.ends[i], 1)
      pads[a] = s
      pads[a + xs.length] = d - s - n
    })
    return [pad(g, pads)]
  }
  // general case (negative steps, run-time bounds): slice an index map of x the same way
  // and scatter the gradient through it
  const n = size(x)
  const ids = reshape(range(int64Scalar(x, 0), n, int64Scalar(x, 1)), shapeOf(x))
  const picked = apply1(Slice, [ids, ...c.inputs.slice(1)])
  const zeros = constantOfShape(reshape(n, [1]), 0, x.dtype)
  const flat = scatterElements(zeros, reshape(picked, [-1]), reshape(g, [-1]), 0)
  return [reshape(flat, shapeOf(x))]
})

const Pad = defineOp('Pad', inputs => {
  const x = need(inputs[0], 'Pad data')
  const p = inputs[1]?.constData
  if (x.shape === undefined || p === undefined || (inputs[3] ?? null) !== null) return [{ dtype: x.dtype, shape: x.shape?.map(() => null) }]
  const pads = toNumbers(p)
  const r = x.shape.length
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => typeof d === 'number' ? d + pads[i] + pads[i + r] : null) }]
})

export const slicingOps: readonly OpDef[] = [Concat, Split, Slice, Pad]

// ---- builder functions ------------------------------------------------------------------

export function concat (xs: readonly Value[], axis: number): Value {
  if (xs.length === 0) throw new InvalidArgumentError('concat of nothing')
  if (xs.length === 1) return xs[0]
  return apply1(Concat, xs, { axis: attr.int(axis) })
}

/** Splits along `axis` into pieces of the given sizes (static list or 1-D int64 tensor). */
export function split (x: Value, sizes: readonly number[] | Value, axis = 0, count?: number): Value[] {
  const s = Array.isArray(sizes) ? int64s(x, sizes as number[]) : sizes as Value
  if (count !== undefined && s.shape?.[0] !== count) throw new InvalidArgumentError(`split sizes tensor must have ${count} entries`)
  return apply(Split, [x, s], { axis: attr.int(axis) })
}

export function slice (x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
  return apply1(Slice, [x, int64s(x, starts), int64s(x, ends), axes === undefined ? null : int64s(x, axes), steps === undefined ? null : int64s(x, steps)])
}

/** Constant zero padding; pads = [begin_0..begin_r-1, end_0..end_r-1]. */
export function pad (x: Value, pads: readonly number[]): Value {
  return apply1(Pad, [x, int64s(x, pads)])
}
