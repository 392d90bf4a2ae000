// Reverse-mode autodiff: appends gradient nodes for chosen values to the graph that computes the loss.
import type { NodeRecord, Value } from './builder.js'
import { InvalidArgumentError, MissingGradientError } from './errors.js'
import { zerosLike } from './grad-utils.js'
import { opKey } from './opdef.js'
import { add, OP_TABLE, type OpTable } from './ops/index.js'
import { isFloat, tensor } from './types.js'

export interface GradientOptions {
  /** gradient of the final objective w.r.t. `loss`; default ones (d loss / d loss) */
  seed?: Value
  /** op table to read rules from; default OP_TABLE */
  ops?: OpTable
}

/**
 * Gradients of `loss` w.r.t. each of `wrt`, as new values in the loss's graph. Only
 * nodes on a path from some wrt value to the loss are differentiated, and each rule is
 * told which inputs need a gradient, so e.g. a first layer never computes d/d(input).
 * A wrt value the loss does not depend on gets zeros.
 */
export function gradients (loss: Value, wrt: readonly Value[], opts: GradientOptions = {}): Value[] {
  const g = loss.graph
  const table = opts.ops ?? OP_TABLE
  if (!isFloat(loss.dtype)) throw new InvalidArgumentError(`loss "${loss.name}" is not a float tensor`)
  for (const w of wrt) {
    if (!g.sees(w)) throw new InvalidArgumentError(`"${w.name}" is not visible from the loss's graph`)
    if (!isFloat(w.dtype)) throw new InvalidArgumentError(`cannot differentiate w.r.t. non-float "${w.name}"`)
  }

  // forward: values that depend on some wrt through float tensors
  const dependent = new Set<Value>(wrt)
  for (const n of g.nodes) {
    if (n.inputs.some(v => v !== null && dependent.has(v))) {
      for (const o of n.outputs) if (isFloat(o.dtype)) dependent.add(o)
    }
  }
  if (!dependent.has(loss)) return wrt.map(w => zerosLike(w))

  // backward: nodes whose outputs lead to the loss
  const needed = new Set<Value>([loss])
  const active: NodeRecord[] = []
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]
    if (!n.outputs.some(o => needed.has(o))) continue
    const ins = n.inputs.filter((v): v is Value => v !== null && dependent.has(v))
    if (ins.length === 0) continue
    active.push(n)
    for (const v of ins) needed.add(v)
  }

  const contributions = new Map<Value, Value[]>()
  const push = (v: Value, d: Value): void => {
    const list = contributions.get(v)
    if (list === undefined) contributions.set(v, [d])
    else list.push(d)
  }
  const total = (v: Value): Value | null => {
    const list = contributions.get(v)
    if (list === undefined || list.length === 0) return null
    let s = list[0]
    for (let i = 1; i < list.length; i++) s = add(s, list[i])
    contributions.set(v, [s])
    return s
  }

  push(loss, opts.seed ?? onesLike(loss))
  for (const n of active) { // already in reverse topological order
    const grads = n.outputs.map(total)
    if (grads.every(d => d === null)) continue
    const def = table.get(opKey(n.domain, n.opType))
    if (def?.grad === undefined) throw new MissingGradientError(n.opType, n.domain, n.name)
    const needs = n.inputs.map(v => v !== null && dependent.has(v) && needed.has(v))
    const res = def.grad({ node: n, inputs: n.inputs, outputs: n.outputs, grads, needs, attrs: n.attrs })
    n.inputs.forEach((v, i) => {
      const d = res[i]
      if (v !== null && needs[i] && d !== null && d !== undefined) push(v, d)
    })
  }
  return wrt.map(w => total(w) ?? zerosLike(w))
}

function onesLike (v: Value): Value {
  const s = v.shape
  if (s === undefined || !s.every(d => d === 1)) {
    throw new InvalidArgumentError(`loss "${v.name}" must be a scalar (or all-ones shape) without a seed gradient`)
  }
  return v.graph.constant(tensor(v.dtype, s as number[], [1]))
}
