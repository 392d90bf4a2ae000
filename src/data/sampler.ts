// Seeded mini-batch sampler over one node's shard: stacked [k, B, ...] batches for fused training steps.
import type { Rng } from '../tensor/rng.js'
import { checkIndices, featureSize, type ClassificationDataset, type Dataset } from './dataset.js'
import { DataErrorCode, SamplerError } from './errors.js'
import { fillWindow, windowStarts, type TokenDataset } from './tokens.js'

/** k batches of B labelled rows: x is [k, B, ...featureShape] row-major, y is [k, B] int64 labels. */
export interface ClassificationBatch {
  readonly kind: 'classification'
  readonly x: Float32Array
  readonly y: BigInt64Array
  /** number of stacked batches */
  readonly k: number
  readonly batchSize: number
}

/** k batches of B windows: x is [k, B, context] int64 token ids, y the same windows shifted by one. */
export interface TokenBatch {
  readonly kind: 'tokens'
  readonly x: BigInt64Array
  readonly y: BigInt64Array
  readonly k: number
  readonly batchSize: number
}

export type Batch = ClassificationBatch | TokenBatch
/** The batch kind a dataset kind gives. */
export type BatchOf<D extends Dataset> = D extends ClassificationDataset ? ClassificationBatch : TokenBatch

/**
 * Draws examples without replacement within an epoch: the shard's examples (rows, or
 * token windows at every offset of its documents) are shuffled, consumed in order, and
 * reshuffled when they run out. Batches keep their full size across an epoch boundary
 * (a fused ONNX Loop wants fixed shapes), so the last batch of one epoch may take its tail
 * from the next; a shard smaller than a batch simply wraps more often.
 *
 * All randomness comes from the injected `rng`, so a node's batch sequence is a pure
 * function of its seed.
 */
export class BatchSampler<D extends Dataset = Dataset> {
  readonly dataset: D
  readonly batchSize: number
  private readonly rng: Rng
  /** example ids: row indices, or window start offsets */
  private readonly order: Int32Array
  private cursor = 0
  private epochs = 0

  /**
   * @param indices units to draw from (a shard: rows, or documents); `null` means all of them
   */
  constructor (dataset: D, indices: ArrayLike<number> | null, batchSize: number, rng: Rng) {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SamplerError(DataErrorCode.BadBatch, `batch size must be a positive integer, got ${batchSize}`)
    }
    if (indices !== null) checkIndices(dataset, indices)
    this.order = examples(dataset, indices)
    if (this.order.length === 0) throw new SamplerError(DataErrorCode.BadBatch, `cannot sample batches: the ${dataset.kind} shard has no examples`)
    this.dataset = dataset
    this.batchSize = batchSize
    this.rng = rng
    rng.shuffle(this.order)
  }

  /** examples this sampler draws from */
  get size (): number { return this.order.length }

  /** full passes over the examples completed so far */
  get epoch (): number { return this.epochs }

  /**
   * The next `k` batches. Every call allocates new arrays that own their whole buffer, so
   * the caller may transfer them to a worker thread.
   */
  next (k = 1): BatchOf<D> {
    if (!Number.isInteger(k) || k < 1) throw new SamplerError(DataErrorCode.BadBatch, `batch count must be a positive integer, got ${k}`)
    const rows = k * this.batchSize
    const ds: Dataset = this.dataset
    switch (ds.kind) {
      case 'classification': return classificationBatch(ds, rows, () => this.draw(), k, this.batchSize) as BatchOf<D>
      case 'tokens': return tokenBatch(ds, rows, () => this.draw(), k, this.batchSize) as BatchOf<D>
    }
  }

  private draw (): number {
    if (this.cursor === this.order.length) {
      this.rng.shuffle(this.order)
      this.cursor = 0
      this.epochs++
    }
    return this.order[this.cursor++]
  }
}

/** The example ids of a shard, in a fixed order before shuffling. */
function examples (ds: Dataset, indices: ArrayLike<number> | null): Int32Array {
  switch (ds.kind) {
    case 'classification':
      return indices === null ? Int32Array.from({ length: ds.n }, (_, i) => i) : Int32Array.from(indices)
    case 'tokens':
      return windowStarts(ds, indices)
  }
}

function classificationBatch (ds: ClassificationDataset, rows: number, draw: () => number, k: number, batchSize: number): ClassificationBatch {
  const feat = featureSize(ds)
  const x = new Float32Array(rows * feat)
  const y = new BigInt64Array(rows)
  for (let i = 0; i < rows; i++) {
    const r = draw()
    x.set(ds.x.subarray(r * feat, r * feat + feat), i * feat)
    y[i] = BigInt(ds.y[r])
  }
  return { kind: 'classification', x, y, k, batchSize }
}

function tokenBatch (ds: TokenDataset, rows: number, draw: () => number, k: number, batchSize: number): TokenBatch {
  const x = new BigInt64Array(rows * ds.context)
  const y = new BigInt64Array(rows * ds.context)
  for (let i = 0; i < rows; i++) fillWindow(ds, draw(), i, x, y)
  return { kind: 'tokens', x, y, k, batchSize }
}
