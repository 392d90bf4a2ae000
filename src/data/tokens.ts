// Token-stream datasets: documents of token ids back to back, cut into windows of context + 1.
import { DataError, DataErrorCode } from './errors.js'

/** Token ids of a whole corpus; bytes fit a Uint8Array, larger vocabularies the wider types. */
export type TokenArray = Uint8Array | Uint16Array | Int32Array

/**
 * Documents of token ids stored back to back. A training example is a window of
 * `context + 1` tokens inside one document: the first `context` are the input and the
 * last `context` (the same window shifted by one) the next-token target. Windows never
 * cross a document boundary, so no example mixes two speakers or two files; a document
 * shorter than `context + 1` gives no window.
 */
export interface TokenDataset {
  readonly kind: 'tokens'
  readonly tokens: TokenArray
  /** n + 1 ascending offsets: document d is tokens[docStarts[d], docStarts[d + 1]) */
  readonly docStarts: Int32Array
  /** number of documents: the units shards are made of */
  readonly n: number
  /** token ids are in [0, vocabSize) */
  readonly vocabSize: number
  /** input tokens per window */
  readonly context: number
}

/** Builds a token dataset, checking offsets, ids and context. */
export function createTokenDataset (tokens: TokenArray, docStarts: ArrayLike<number>, vocabSize: number, context: number): TokenDataset {
  const fail = (m: string): never => { throw new DataError(DataErrorCode.LoadFailed, m) }
  if (!Number.isInteger(vocabSize) || vocabSize < 2) fail(`vocabulary size must be an integer ≥ 2, got ${vocabSize}`)
  if (!Number.isInteger(context) || context < 1) fail(`context must be a positive integer, got ${context}`)
  if (docStarts.length < 1 || docStarts[0] !== 0 || docStarts[docStarts.length - 1] !== tokens.length) {
    fail(`document offsets must run from 0 to ${tokens.length}`)
  }
  for (let d = 1; d < docStarts.length; d++) {
    if (!Number.isInteger(docStarts[d]) || docStarts[d] < docStarts[d - 1]) fail(`document offset ${docStarts[d]} at ${d} is not ascending`)
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] >= vocabSize || tokens[i] < 0) fail(`token ${tokens[i]} at ${i} outside [0, ${vocabSize})`)
  }
  return { kind: 'tokens', tokens, docStarts: Int32Array.from(docStarts), n: docStarts.length - 1, vocabSize, context }
}

/** Tokens held by the given documents (all documents when omitted). */
export function documentTokens (ds: TokenDataset, docs?: ArrayLike<number>): number {
  if (docs === undefined) return ds.tokens.length
  let t = 0
  for (let i = 0; i < docs.length; i++) t += ds.docStarts[docs[i] + 1] - ds.docStarts[docs[i]]
  return t
}

/**
 * Start offsets of windows in the given documents (all when null): every offset whose
 * window fits (`stride` 1, for training), or consecutive windows whose targets do not
 * overlap (`stride` = context, for evaluation: each token is scored at most once).
 */
export function windowStarts (ds: TokenDataset, docs: ArrayLike<number> | null, stride = 1): Int32Array {
  const span = ds.context + 1
  const count = (d: number): number => {
    const len = ds.docStarts[d + 1] - ds.docStarts[d]
    return len < span ? 0 : Math.floor((len - span) / stride) + 1
  }
  const list = docs ?? Int32Array.from({ length: ds.n }, (_, i) => i)
  let total = 0
  for (let i = 0; i < list.length; i++) total += count(list[i])
  const out = new Int32Array(total)
  let at = 0
  for (let i = 0; i < list.length; i++) {
    const d = list[i]
    for (let w = 0, c = count(d); w < c; w++) out[at++] = ds.docStarts[d] + w * stride
  }
  return out
}

/** Writes the window at `start` as example `i`: x gets tokens [start, start+T), y tokens [start+1, start+T+1). */
export function fillWindow (ds: TokenDataset, start: number, i: number, x: BigInt64Array, y: BigInt64Array): void {
  const t = ds.context
  const src = ds.tokens
  const at = i * t
  for (let j = 0; j < t; j++) {
    x[at + j] = BigInt(src[start + j])
    y[at + j] = BigInt(src[start + j + 1])
  }
}
