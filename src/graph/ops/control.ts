// Loop: K iterations inside one ORT run, so parameters and optimizer state never leave the runtime.
import type { GraphBuilder, Value } from '../builder.js'
import { InvalidArgumentError } from '../errors.js'
import { apply, defineOp, type OpDef } from '../opdef.js'
import { attr, type Dim } from '../types.js'
import { identity } from './misc.js'

const Loop = defineOp('Loop', (inputs, attrs) => {
  const a = attrs.body
  if (a?.kind !== 'graph') throw new InvalidArgumentError('Loop needs a body graph')
  const body = a.value
  const carried = inputs.length - 2
  const outs = body.outputs.slice(1)
  if (outs.length < carried) throw new InvalidArgumentError(`Loop body has ${outs.length} outputs for ${carried} carried values`)
  return outs.map((o, i) => i < carried
    ? { dtype: o.dtype, shape: o.shape }
    : { dtype: o.dtype, shape: o.shape === undefined ? undefined : [null as Dim, ...o.shape] })
})

export const controlOps: readonly OpDef[] = [Loop]

export interface LoopBodyArgs {
  readonly graph: GraphBuilder
  /** iteration number, int64 scalar */
  readonly iter: Value
  /** the carried values as seen at the start of this iteration */
  readonly carried: Value[]
}

export interface LoopBodyResult {
  /** next values of the carried tensors, same order, types and shapes */
  readonly carried: Value[]
  /** per-iteration values stacked along a new leading axis */
  readonly scans: Value[]
}

/**
 * Runs `fn` once to build the body, then appends the Loop node to `parent`. The body's
 * inputs get explicit types (ORT needs them), including the iteration counter and the
 * condition, which the body passes through unchanged: `tripCount` alone ends the loop.
 */
export function loop (parent: GraphBuilder, tripCount: Value, carried: readonly Value[], fn: (b: LoopBodyArgs) => LoopBodyResult, name = 'loop_body'): { carried: Value[], scans: Value[] } {
  const body = parent.subgraph(name)
  const iter = body.freshInput('iter', 'int64', [])
  const condIn = body.freshInput('cond', 'bool', [])
  const carriedIn = carried.map(v => body.freshInput(`${v.name}_in`, v.dtype, v.shape))
  const res = fn({ graph: body, iter, carried: carriedIn })
  if (res.carried.length !== carried.length) throw new InvalidArgumentError(`Loop body returned ${res.carried.length} carried values, expected ${carried.length}`)
  body.output(identity(condIn))
  res.carried.forEach((v, i) => {
    if (v.dtype !== carried[i].dtype) throw new InvalidArgumentError(`Loop carried value ${i} changes type`)
    body.output(v)
  })
  res.scans.forEach(v => body.output(v))
  const outs = apply(Loop, [tripCount, null, ...carried], { body: attr.graph(body) }, parent)
  return { carried: outs.slice(0, carried.length), scans: outs.slice(carried.length) }
}
