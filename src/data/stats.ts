// Label statistics of shards: how skewed a partition really is, for tests and run reports.
import type { ClassificationDataset } from './dataset.js'

/** Count of each label among the given rows (all rows when `indices` is omitted). */
export function labelHistogram (ds: ClassificationDataset, indices?: ArrayLike<number>): Int32Array {
  const h = new Int32Array(ds.numClasses)
  if (indices === undefined) {
    for (let i = 0; i < ds.n; i++) h[ds.y[i]]++
  } else {
    for (let i = 0; i < indices.length; i++) h[ds.y[indices[i]]]++
  }
  return h
}

/** Shannon entropy in bits of a histogram: log2(classes) for a uniform one, 0 for a single class. */
export function entropyBits (hist: ArrayLike<number>): number {
  let total = 0
  for (let i = 0; i < hist.length; i++) total += hist[i]
  if (total === 0) return 0
  let h = 0
  for (let i = 0; i < hist.length; i++) {
    if (hist[i] > 0) {
      const p = hist[i] / total
      h -= p * Math.log2(p)
    }
  }
  return h
}

export interface ShardSummary {
  /** examples per shard */
  readonly sizes: number[]
  /** label entropy (bits) per shard */
  readonly entropies: number[]
  /** mean of `entropies`: log2(10) ≈ 3.32 for perfectly mixed MNIST shards, lower with skew */
  readonly meanEntropy: number
}

/** Sizes and label entropies of a sharding, one line of a run report. */
export function summariseShards (ds: ClassificationDataset, shards: readonly ArrayLike<number>[]): ShardSummary {
  const sizes = shards.map(s => s.length)
  const entropies = shards.map(s => entropyBits(labelHistogram(ds, s)))
  const meanEntropy = entropies.reduce((a, b) => a + b, 0) / Math.max(1, entropies.length)
  return { sizes, entropies, meanEntropy }
}
