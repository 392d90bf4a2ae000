// The in-memory dataset kinds every other layer consumes: labelled feature rows, or token streams.
import { DataError, DataErrorCode, SamplerError } from './errors.js'
import type { TokenDataset } from './tokens.js'

/**
 * Labelled fixed-size examples, stored row-major in one Float32Array so a batch is a
 * handful of `set` calls and a shard is just a list of row indices.
 */
export interface ClassificationDataset {
  readonly kind: 'classification'
  /** n × featureSize values, row-major; MNIST pixels are in [0, 1] */
  readonly x: Float32Array
  /** n class labels in [0, numClasses) */
  readonly y: Int32Array
  /** number of examples: the units shards are made of */
  readonly n: number
  /** shape of one example, e.g. [784] for flattened 28×28 digits */
  readonly featureShape: readonly number[]
  readonly numClasses: number
}

/**
 * Every dataset kind Tapestry knows. Consumers switch on `kind` (sharding, sampling,
 * evaluation chunks), and a model registry entry names the one kind it accepts. In both
 * kinds `n` counts the units a shard is made of: examples, or documents.
 */
export type Dataset = ClassificationDataset | TokenDataset
export type DatasetKind = Dataset['kind']

/** Elements in one example row. */
export function featureSize (ds: ClassificationDataset): number {
  let s = 1
  for (const d of ds.featureShape) s *= d
  return s
}

/** Builds a dataset, checking that the arrays agree with each other. */
export function createClassificationDataset (x: Float32Array, y: Int32Array, featureShape: readonly number[], numClasses: number): ClassificationDataset {
  const n = y.length
  let feat = 1
  for (const d of featureShape) feat *= d
  if (x.length !== n * feat) {
    throw new DataError(DataErrorCode.LoadFailed, `features have ${x.length} values, ${n} labels × ${feat} needs ${n * feat}`)
  }
  for (let i = 0; i < n; i++) {
    if (!(y[i] >= 0 && y[i] < numClasses)) throw new DataError(DataErrorCode.LoadFailed, `label ${y[i]} at ${i} outside [0, ${numClasses})`)
  }
  return { kind: 'classification', x, y, n, featureShape: [...featureShape], numClasses }
}

/** Throws unless every index names a unit (row or document) of `ds`; sampler and subset trust them afterwards. */
export function checkIndices (ds: Dataset, indices: ArrayLike<number>): void {
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]
    if (!Number.isInteger(v) || v < 0 || v >= ds.n) {
      throw new SamplerError(DataErrorCode.BadIndex, `index ${v} at position ${i} is outside [0, ${ds.n})`)
    }
  }
}

/** A new dataset holding copies of the chosen rows, in the given order (e.g. one node's shard). */
export function subset (ds: ClassificationDataset, indices: ArrayLike<number>): ClassificationDataset {
  checkIndices(ds, indices)
  const feat = featureSize(ds)
  const x = new Float32Array(indices.length * feat)
  const y = new Int32Array(indices.length)
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]
    x.set(ds.x.subarray(r * feat, (r + 1) * feat), i * feat)
    y[i] = ds.y[r]
  }
  return { kind: 'classification', x, y, n: indices.length, featureShape: ds.featureShape, numClasses: ds.numClasses }
}

/**
 * Rows copied into one batch with int64 labels, as an ONNX graph takes them (e.g. to
 * evaluate on a held-out set). Each call allocates arrays that own their buffers, so the
 * caller may transfer them to a worker.
 */
export function gather (ds: ClassificationDataset, indices: ArrayLike<number>): { x: Float32Array, y: BigInt64Array } {
  checkIndices(ds, indices)
  const feat = featureSize(ds)
  const x = new Float32Array(indices.length * feat)
  const y = new BigInt64Array(indices.length)
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]
    x.set(ds.x.subarray(r * feat, (r + 1) * feat), i * feat)
    y[i] = BigInt(ds.y[r])
  }
  return { x, y }
}
