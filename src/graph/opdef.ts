// What an op is to the builder and to autodiff: output-type inference plus an optional gradient rule.
import type { GraphBuilder, NodeRecord, OutputInfo, Value } from './builder.js'
import { InvalidArgumentError, ShapeError } from './errors.js'
import type { Attrs, Dim, Shape } from './types.js'

/** What a gradient rule sees: the forward node and the gradients arriving at its outputs. */
export interface GradCall {
  readonly node: NodeRecord
  readonly inputs: ReadonlyArray<Value | null>
  readonly outputs: readonly Value[]
  /** gradient of the loss w.r.t. each output; null where none reaches it (zero) */
  readonly grads: ReadonlyArray<Value | null>
  /** needs[i]: the gradient of input i is wanted; a rule should skip work for the others */
  readonly needs: readonly boolean[]
  readonly attrs: Attrs
}

/** Gradient w.r.t. each input, null/undefined for inputs it does not (or need not) flow to. */
export type GradRule = (c: GradCall) => ReadonlyArray<Value | null | undefined>

export interface OpDef {
  readonly opType: string
  /** '' is the default ONNX domain */
  readonly domain: string
  readonly infer: (inputs: ReadonlyArray<Value | null>, attrs: Attrs) => OutputInfo[]
  /** absent: autodiff raises MissingGradientError when the op is on the loss path */
  readonly grad?: GradRule
}

export function defineOp (opType: string, infer: OpDef['infer'], grad?: GradRule, domain = ''): OpDef {
  return { opType, domain, infer, grad }
}

export function opKey (domain: string, opType: string): string {
  return domain === '' ? opType : `${domain}::${opType}`
}

/** The innermost graph among the inputs' graphs: the node must live where all inputs are visible. */
export function graphOf (inputs: ReadonlyArray<Value | null>): GraphBuilder {
  let g: GraphBuilder | undefined
  for (const v of inputs) {
    if (v !== null && (g === undefined || depth(v.graph) > depth(g))) g = v.graph
  }
  if (g === undefined) throw new InvalidArgumentError('op with no inputs needs an explicit graph')
  for (const v of inputs) {
    if (v !== null && !g.sees(v)) throw new InvalidArgumentError(`inputs from unrelated graphs: "${v.name}"`)
  }
  return g
}

function depth (g: GraphBuilder): number {
  let d = 0
  for (let x = g.parent; x !== undefined; x = x.parent) d++
  return d
}

/** Appends one node of `def` to the innermost graph of its inputs (or `g`). */
export function apply (def: OpDef, inputs: ReadonlyArray<Value | null>, attrs: Attrs = {}, g?: GraphBuilder): Value[] {
  const graph = g ?? graphOf(inputs)
  return graph.node(def.opType, inputs, attrs, def.infer(inputs, attrs), def.domain)
}

export function apply1 (def: OpDef, inputs: ReadonlyArray<Value | null>, attrs: Attrs = {}, g?: GraphBuilder): Value {
  return apply(def, inputs, attrs, g)[0]
}

// ---- inference helpers shared by the op files -------------------------------------------

export function need (v: Value | null | undefined, what: string): Value {
  if (v === null || v === undefined) throw new InvalidArgumentError(`missing input: ${what}`)
  return v
}

export function sameAs (i = 0): OpDef['infer'] {
  return (inputs) => {
    const v = need(inputs[i], `input ${i}`)
    return [{ dtype: v.dtype, shape: v.shape }]
  }
}

function broadcastDim (a: Dim, b: Dim): Dim {
  if (a === b) return a
  if (a === 1) return b
  if (b === 1) return a
  if (typeof a === 'number' && typeof b !== 'number') return a
  if (typeof b === 'number' && typeof a !== 'number') return b
  if (typeof a === 'number' && typeof b === 'number') throw new ShapeError(`cannot broadcast dims ${a} and ${b}`)
  return null
}

/** Numpy-style multidirectional broadcast of static shapes (unknown rank stays unknown). */
export function broadcastShapes (...shapes: Shape[]): Shape {
  if (shapes.some(s => s === undefined)) return undefined
  const ss = shapes as Array<readonly Dim[]>
  const rank = Math.max(...ss.map(s => s.length))
  const out: Dim[] = []
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1
    for (const s of ss) {
      const j = i - (rank - s.length)
      if (j >= 0) d = broadcastDim(d, s[j])
    }
    out.push(d)
  }
  return out
}

export function broadcastInfer (inputs: ReadonlyArray<Value | null>): OutputInfo[] {
  const vs = inputs.map((v, i) => need(v, `input ${i}`))
  return [{ dtype: vs[0].dtype, shape: broadcastShapes(...vs.map(v => v.shape)) }]
}

export function requireRank (v: Value, what: string): number {
  if (v.shape === undefined) throw new ShapeError(`${what}: rank of "${v.name}" must be known`)
  return v.shape.length
}
