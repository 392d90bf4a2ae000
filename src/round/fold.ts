// The deterministic fold of a round: decoded updates → aggregate (run's rule) → outer step.
import { fold, MeanFolder, OuterOptimizer, type FoldSpec, type OuterOptimizerOptions, type OuterState } from '../aggregate/index.js'

export interface IncludedBlob { id: string, samples: number }

/**
 * Folds updates in canonical id order. The plain mean streams (one dense update in memory at a
 * time, so an aggregator of 1,000 members needs O(P)); other rules need all updates at once.
 */
export function aggregateUpdates (spec: FoldSpec, included: readonly IncludedBlob[], decode: (id: string) => Float32Array, length: number): Float32Array {
  if (spec.rule.kind === 'mean' && spec.clip === undefined) {
    const folder = new MeanFolder(length)
    const sorted = [...included].sort((a, b) => compareUtf8(a.id, b.id))
    for (const u of sorted) folder.add(decode(u.id), u.samples, u.id)
    return folder.result()
  }
  return fold(included.map(u => ({ id: u.id, update: decode(u.id), weight: u.samples })), spec).aggregate
}

const optimizers = new Map<string, OuterOptimizer>()

/** θ_{r+1} and the outer state from θ_r and the applied aggregate. */
export function outerStep (opts: OuterOptimizerOptions, params: Float32Array, state: OuterState, delta: Float32Array): { params: Float32Array, state: OuterState } {
  const key = `${opts.lr}/${opts.momentum}/${String(opts.nesterov)}`
  let opt = optimizers.get(key)
  if (opt == null) { opt = new OuterOptimizer(opts); optimizers.set(key, opt) }
  const r = opt.step(params, delta, state)
  return { params: r.theta, state: r.state }
}

/** The bytes a model id is the digest of: the float32 parameters, little-endian. */
export function modelBytes (params: Float32Array): Uint8Array {
  return new Uint8Array(params.buffer, params.byteOffset, params.byteLength)
}

const enc = new TextEncoder()
// eslint-disable-next-line no-control-regex -- the whole 7-bit range, NUL included, is what sorts the same in UTF-16 and UTF-8
const ASCII = /^[\x00-\x7f]*$/
/** UTF-8 byte order, the order aggregate/ folds in */
export function compareUtf8 (a: string, b: string): number {
  if (a === b) return 0
  // ASCII (CIDs, hex digests): UTF-16 order is byte order, no encoding needed
  if (ASCII.test(a) && ASCII.test(b)) return a < b ? -1 : 1
  const x = enc.encode(a)
  const y = enc.encode(b)
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i]
  return x.length - y.length
}
