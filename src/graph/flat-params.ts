// One flat parameter vector inside the graph: Split + Reshape into the named tensors of a layout.
import type { Value } from './builder.js'
import { InvalidArgumentError } from './errors.js'
import { concat, reshape, split } from './ops/index.js'
import type { LayoutEntry, ParamLayout } from '../tensor/layout.js'

/**
 * Named views of `flat` ([P]) in layout order. Autodiff through these Split/Reshape nodes
 * yields d/d(flat) as the Concat of the flattened tensor gradients, zero-filled for any
 * tensor the loss does not use, so optimizer, compression and aggregation all see one
 * vector in the same order as the trainer's Float32Array.
 */
export function unflatten (flat: Value, layout: ParamLayout): Record<string, Value> {
  if (flat.shape?.length !== 1 || flat.shape[0] !== layout.total) {
    throw new InvalidArgumentError(`flat parameters must have shape [${layout.total}]`)
  }
  return unflattenBuckets([flat], [{ entries: layout.entries, offset: 0, size: layout.total }])
}

/** A contiguous run of layout entries that the step graph keeps as one vector. */
export interface Bucket {
  readonly entries: readonly LayoutEntry[]
  readonly offset: number
  readonly size: number
}

/** Tensors at least this large get a bucket of their own. */
export const OWN_BUCKET_MIN = 1 << 16

/**
 * Cuts the flat vector into contiguous buckets: each large tensor alone, runs of small
 * ones together. A fused Loop carries buckets instead of the flat vector, so a large
 * weight needs neither a Split copy out of the vector nor a Concat copy of its gradient
 * back into it on every inner step; the vector is split and joined once per run.
 */
export function bucketLayout (layout: ParamLayout, ownMin = OWN_BUCKET_MIN): Bucket[] {
  const out: Bucket[] = []
  let run: LayoutEntry[] = []
  const flush = (): void => {
    if (run.length === 0) return
    out.push({ entries: run, offset: run[0].offset, size: run.reduce((a, e) => a + e.size, 0) })
    run = []
  }
  for (const e of layout.entries) {
    if (e.size >= ownMin) {
      flush()
      run = [e]
      flush()
    } else {
      run.push(e)
    }
  }
  flush()
  return out
}

/** The whole layout as one bucket. */
export function singleBucket (layout: ParamLayout): Bucket[] {
  return [{ entries: layout.entries, offset: 0, size: layout.total }]
}

/** Named tensor views of bucket vectors (one Value per bucket, same order). */
export function unflattenBuckets (vectors: readonly Value[], buckets: readonly Bucket[]): Record<string, Value> {
  if (vectors.length !== buckets.length) throw new InvalidArgumentError(`${vectors.length} vectors for ${buckets.length} buckets`)
  const out: Record<string, Value> = {}
  buckets.forEach((b, i) => {
    const v = vectors[i]
    if (v.shape?.length !== 1 || v.shape[0] !== b.size) throw new InvalidArgumentError(`bucket ${i} must have shape [${b.size}]`)
    const pieces = b.entries.length === 1 ? [v] : split(v, b.entries.map(e => e.size), 0)
    b.entries.forEach((e, j) => {
      out[e.name] = e.shape.length === 1 ? pieces[j] : reshape(pieces[j], e.shape)
    })
  })
  return out
}

/** Cuts a flat [P] vector into its bucket vectors. */
export function splitBuckets (flat: Value, buckets: readonly Bucket[]): Value[] {
  return buckets.length === 1 ? [flat] : split(flat, buckets.map(b => b.size), 0)
}

/** Joins bucket vectors back into the flat [P] vector. */
export function joinBuckets (vectors: readonly Value[]): Value {
  return concat(vectors, 0)
}
