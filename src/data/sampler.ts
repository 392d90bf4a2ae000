// Seeded mini-batch sampler over one node's rows: stacked [k, B, ...] batches for fused training steps.
import type { Rng } from '../tensor/rng.js'
import { checkIndices, featureSize, type Dataset } from './dataset.js'
import { DataErrorCode, SamplerError } from './errors.js'

/** k batches of B examples: x is [k, B, ...featureShape] row-major, y is [k, B] int64 labels. */
export interface Batch {
  readonly x: Float32Array
  readonly y: BigInt64Array
  /** number of stacked batches */
  readonly k: number
  readonly batchSize: number
}

/**
 * Draws batches without replacement within an epoch: the rows are shuffled, consumed in
 * order, and reshuffled when they run out. Batches keep their full size across an epoch
 * boundary (a fused ONNX Loop wants fixed shapes), so the last batch of one epoch may
 * take its tail from the next; a shard smaller than a batch simply wraps more often.
 *
 * All randomness comes from the injected `rng`, so a node's batch sequence is a pure
 * function of its seed.
 */
export class BatchSampler {
  readonly dataset: Dataset
  readonly batchSize: number
  private readonly rng: Rng
  private readonly order: Int32Array
  private readonly feat: number
  private cursor = 0
  private epochs = 0

  /**
   * @param indices rows to draw from (a shard); `null` means every row of the dataset
   */
  constructor (dataset: Dataset, indices: ArrayLike<number> | null, batchSize: number, rng: Rng) {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SamplerError(DataErrorCode.BadBatch, `batch size must be a positive integer, got ${batchSize}`)
    }
    if (indices === null) {
      this.order = new Int32Array(dataset.n)
      for (let i = 0; i < dataset.n; i++) this.order[i] = i
    } else {
      checkIndices(dataset, indices)
      this.order = Int32Array.from(indices)
    }
    if (this.order.length === 0) throw new SamplerError(DataErrorCode.BadBatch, 'cannot sample batches from an empty set of rows')
    this.dataset = dataset
    this.batchSize = batchSize
    this.rng = rng
    this.feat = featureSize(dataset)
    rng.shuffle(this.order)
  }

  /** rows this sampler draws from */
  get size (): number { return this.order.length }

  /** full passes over the rows completed so far */
  get epoch (): number { return this.epochs }

  /**
   * The next `k` batches. Every call allocates new arrays that own their whole buffer, so
   * the caller may transfer them to a worker thread.
   */
  next (k = 1): Batch {
    if (!Number.isInteger(k) || k < 1) throw new SamplerError(DataErrorCode.BadBatch, `batch count must be a positive integer, got ${k}`)
    const rows = k * this.batchSize
    const feat = this.feat
    const src = this.dataset.x
    const labels = this.dataset.y
    const x = new Float32Array(rows * feat)
    const y = new BigInt64Array(rows)
    for (let i = 0; i < rows; i++) {
      if (this.cursor === this.order.length) {
        this.rng.shuffle(this.order)
        this.cursor = 0
        this.epochs++
      }
      const r = this.order[this.cursor++]
      x.set(src.subarray(r * feat, r * feat + feat), i * feat)
      y[i] = BigInt(labels[r])
    }
    return { x, y, k, batchSize: this.batchSize }
  }
}
