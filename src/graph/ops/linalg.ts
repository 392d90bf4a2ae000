// Matrix products: MatMul (batched, broadcasting) and Gemm; weight gradients fold transposes into Gemm flags.
import type { Value } from '../builder.js'
import { ShapeError } from '../errors.js'
import { reduceToShape, shapeOf } from '../grad-utils.js'
import { apply1, broadcastShapes, defineOp, need, requireRank, type OpDef } from '../opdef.js'
import { attr, floatAttr, intAttr, type AttrValue, type Dim } from '../types.js'
import { mul } from './elementwise.js'
import { reshape, transpose, unsqueeze } from './shape.js'

const MatMul = defineOp('MatMul', inputs => {
  const a = need(inputs[0], 'MatMul A')
  const b = need(inputs[1], 'MatMul B')
  if (a.shape === undefined || b.shape === undefined) return [{ dtype: a.dtype, shape: undefined }]
  const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2))!
  const out: Dim[] = [...batch]
  if (a.shape.length > 1) out.push(as[as.length - 2])
  if (b.shape.length > 1) out.push(bs[bs.length - 1])
  return [{ dtype: a.dtype, shape: out }]
}, c => {
  const g = c.grads[0]!
  const [a, b] = c.inputs as Value[]
  const ra = requireRank(a, 'MatMul gradient')
  const rb = requireRank(b, 'MatMul gradient')
  if (ra === 2 && rb === 2) {
    // the common dense-layer case: no Transpose nodes, Gemm reads the operands transposed
    return [
      c.needs[0] ? gemm(g, b, null, { transB: true }) : null,
      c.needs[1] ? gemm(a, g, null, { transA: true }) : null
    ]
  }
  // promote 1-D operands to matrices so one batched formula covers every case
  const a2 = ra === 1 ? unsqueeze(a, [0]) : a
  const b2 = rb === 1 ? unsqueeze(b, [1]) : b
  let g2 = g
  if (ra === 1 && rb === 1) g2 = reshape(g, [1, 1])
  else if (ra === 1) g2 = unsqueeze(g, [-2])
  else if (rb === 1) g2 = unsqueeze(g, [-1])
  let da: Value | null = null
  let db: Value | null = null
  if (c.needs[0]) {
    da = reduceToShape(matmul(g2, swapLast2(b2)), a2)
    if (ra === 1) da = reshape(da, shapeOf(a))
  }
  if (c.needs[1]) {
    db = reduceToShape(matmul(swapLast2(a2), g2), b2)
    if (rb === 1) db = reshape(db, shapeOf(b))
  }
  return [da, db]
})

function swapLast2 (x: Value): Value {
  const r = requireRank(x, 'MatMul gradient')
  const perm = Array.from({ length: r }, (_, i) => i)
  perm[r - 2] = r - 1
  perm[r - 1] = r - 2
  return transpose(x, perm)
}

const Gemm = defineOp('Gemm', (inputs, attrs) => {
  const a = need(inputs[0], 'Gemm A')
  const b = need(inputs[1], 'Gemm B')
  if (a.shape === undefined || b.shape === undefined) return [{ dtype: a.dtype, shape: [null, null] }]
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new ShapeError('Gemm takes matrices')
  const m = intAttr(attrs, 'transA', 0) === 1 ? a.shape[1] : a.shape[0]
  const n = intAttr(attrs, 'transB', 0) === 1 ? b.shape[0] : b.shape[1]
  return [{ dtype: a.dtype, shape: [m, n] }]
}, c => {
  const g = c.grads[0]!
  const [a, b] = c.inputs as Value[]
  const cIn = c.inputs[2] ?? null
  const alpha = floatAttr(c.attrs, 'alpha', 1)
  const beta = floatAttr(c.attrs, 'beta', 1)
  const tA = intAttr(c.attrs, 'transA', 0) === 1
  const tB = intAttr(c.attrs, 'transB', 0) === 1
  // Y = alpha·op(A)·op(B) + beta·C; each gradient is one Gemm with the transposes as flags
  const da = !c.needs[0]
    ? null
    : tA ? gemm(b, g, null, { alpha, transA: tB, transB: true }) : gemm(g, b, null, { alpha, transB: !tB })
  const db = !c.needs[1]
    ? null
    : tB ? gemm(g, a, null, { alpha, transA: true, transB: tA }) : gemm(a, g, null, { alpha, transA: !tA })
  const dc = cIn === null || !c.needs[2] ? null : reduceToShape(beta === 1 ? g : mul(g, beta), cIn)
  return [da, db, dc]
})

export const linalgOps: readonly OpDef[] = [MatMul, Gemm]

// ---- builder functions ------------------------------------------------------------------

export function matmul (a: Value, b: Value): Value {
  return apply1(MatMul, [a, b])
}

export interface GemmOptions {
  /** @default 1 */
  alpha?: number
  /** @default 1 */
  beta?: number
  /** @default false */
  transA?: boolean
  /** @default false */
  transB?: boolean
}

/** alpha·op(A)·op(B) + beta·C; only non-default attributes are written (floats tagged). */
export function gemm (a: Value, b: Value, c: Value | null = null, opts: GemmOptions = {}): Value {
  const attrs: Record<string, AttrValue> = {}
  if (opts.alpha !== undefined && opts.alpha !== 1) attrs.alpha = attr.float(opts.alpha)
  if (opts.beta !== undefined && opts.beta !== 1) attrs.beta = attr.float(opts.beta)
  if (opts.transA === true) attrs.transA = attr.int(1)
  if (opts.transB === true) attrs.transB = attr.int(1)
  return apply1(Gemm, c === null ? [a, b] : [a, b, c], attrs)
}
