// The op table (forward inference + gradient rule per op) and the builder functions of every op.
import { opKey, type OpDef } from '../opdef.js'
import { activationOps } from './activation.js'
import { controlOps } from './control.js'
import { elementwiseOps } from './elementwise.js'
import { gatherOps } from './gather.js'
import { linalgOps } from './linalg.js'
import { lossOps } from './loss.js'
import { miscOps } from './misc.js'
import { normOps } from './norm.js'
import { reduceOps } from './reduce.js'
import { selectOps } from './select.js'
import { shapeOps } from './shape.js'
import { slicingOps } from './slicing.js'

export type OpTable = ReadonlyMap<string, OpDef>

/** Builds a lookup table keyed by domain and op type; later entries override earlier ones. */
export function createOpTable (...groups: ReadonlyArray<readonly OpDef[]>): OpTable {
  const t = new Map<string, OpDef>()
  for (const group of groups) for (const d of group) t.set(opKey(d.domain, d.opType), d)
  return t
}

/** Every op the builder knows. Adding an op (and its rule) is adding a list here. */
export const OP_TABLE: OpTable = createOpTable(
  elementwiseOps, activationOps, linalgOps, reduceOps, shapeOps, slicingOps,
  gatherOps, selectOps, lossOps, miscOps, controlOps, normOps
)

export * from './activation.js'
export * from './control.js'
export * from './elementwise.js'
export * from './gather.js'
export * from './linalg.js'
export * from './loss.js'
export * from './misc.js'
export * from './norm.js'
export * from './reduce.js'
export * from './select.js'
export * from './shape.js'
export * from './slicing.js'
