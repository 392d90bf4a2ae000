// A held-out set cut into evaluation chunks, per dataset kind: rows in order, or non-overlapping token windows.
import { featureSize, type Dataset } from './dataset.js'
import { DataErrorCode, SamplerError } from './errors.js'
import { fillWindow, windowStarts } from './tokens.js'

/** One chunk: `n` examples, x [n, ...] and an int64 target [n, ...], buffers owned (transferable). */
export interface EvalChunk {
  readonly x: Float32Array | BigInt64Array
  readonly y: BigInt64Array
  readonly n: number
}

/**
 * Every example of `ds` once, at most `chunk` per yield: each row of a classification set;
 * for a token set, consecutive windows of each document whose targets do not overlap, so
 * every scored token is scored once (a document's tail shorter than a window is not scored).
 */
export function * evalChunks (ds: Dataset, chunk = 1000): Generator<EvalChunk> {
  if (!Number.isInteger(chunk) || chunk < 1) throw new SamplerError(DataErrorCode.BadBatch, `chunk must be a positive integer, got ${chunk}`)
  switch (ds.kind) {
    case 'classification': {
      const feat = featureSize(ds)
      for (let start = 0; start < ds.n; start += chunk) {
        const n = Math.min(chunk, ds.n - start)
        const y = new BigInt64Array(n)
        for (let i = 0; i < n; i++) y[i] = BigInt(ds.y[start + i])
        yield { x: ds.x.slice(start * feat, (start + n) * feat), y, n }
      }
      return
    }
    case 'tokens': {
      const starts = windowStarts(ds, null, ds.context)
      for (let from = 0; from < starts.length; from += chunk) {
        const n = Math.min(chunk, starts.length - from)
        const x = new BigInt64Array(n * ds.context)
        const y = new BigInt64Array(n * ds.context)
        for (let i = 0; i < n; i++) fillWindow(ds, starts[from + i], i, x, y)
        yield { x, y, n }
      }
    }
  }
}
