// Token-stream datasets: documents of token ids back to back, cut into windows of context + 1.
import { DataError, DataErrorCode } from './errors.js'

/** Token ids of a whole corpus; bytes fit a Uint8Array, larger vocabularies the wider types. */
export type TokenArray = Uint8Array | Uint16Array | Int32Array

/** What a grouping may be called (and so what `group:<name>` may name). */
export const GROUPING_NAME = /^[a-z][a-z0-9_-]*$/

/**
 * One way of grouping a token set's documents (by speaker, by era, ...): `names[g]` is
 * group g, `of[d]` the group of document d. A group may hold no document (a held-out set
 * keeps the full name list, so group indices mean the same in train and test).
 */
export interface DocumentGroups {
  readonly names: readonly string[]
  readonly of: Int32Array
}

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
  /**
   * Optional groupings of the documents, keyed by a lowercase name ('speaker', 'era'); a
   * `group` partition shards whole groups of the grouping it names.
   */
  readonly groups?: Readonly<Record<string, DocumentGroups>>
}

/** Builds a token dataset, checking offsets, ids, context and document groupings. */
export function createTokenDataset (
  tokens: TokenArray, docStarts: ArrayLike<number>, vocabSize: number, context: number,
  groups?: Readonly<Record<string, DocumentGroups>>
): TokenDataset {
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
  const n = docStarts.length - 1
  const ds: TokenDataset = { kind: 'tokens', tokens, docStarts: Int32Array.from(docStarts), n, vocabSize, context }
  if (groups === undefined) return ds
  const copy: Record<string, DocumentGroups> = {}
  for (const [key, g] of Object.entries(groups)) {
    if (!GROUPING_NAME.test(key)) fail(`grouping name "${key}" must be lowercase letters, digits, '-' or '_'`)
    if (g.of.length !== n) fail(`grouping ${key} labels ${g.of.length} documents, the dataset has ${n}`)
    if (new Set(g.names).size !== g.names.length) fail(`grouping ${key} repeats a group name`)
    for (let d = 0; d < n; d++) {
      const v = g.of[d]
      if (!Number.isInteger(v) || v < 0 || v >= g.names.length) fail(`grouping ${key}: document ${d} is in group ${v}, outside [0, ${g.names.length})`)
    }
    copy[key] = { names: [...g.names], of: Int32Array.from(g.of) }
  }
  return { ...ds, groups: copy }
}

/** Document indices of each group of `groups` (empty for a group with no document). */
export function groupMembers (groups: DocumentGroups): number[][] {
  const out: number[][] = groups.names.map(() => [])
  for (let d = 0; d < groups.of.length; d++) out[groups.of[d]].push(d)
  return out
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

/**
 * At most `maxWindows` evaluation windows of `ds`, evenly spaced over all of them, as a dataset
 * of one document per window: a cheap, fixed held-out sample for per-round evaluation (a full
 * held-out pass of a language model costs as much as hundreds of training steps).
 */
export function thinTokenEval (ds: TokenDataset, maxWindows: number): TokenDataset {
  const all = windowStarts(ds, null, ds.context)
  if (all.length <= maxWindows) return ds
  const span = ds.context + 1
  const tokens = new (ds.tokens.constructor as new (n: number) => TokenArray)(maxWindows * span)
  const starts: number[] = [0]
  for (let i = 0; i < maxWindows; i++) {
    const s = all[Math.floor(i * all.length / maxWindows)]
    tokens.set(ds.tokens.subarray(s, s + span), i * span)
    starts.push((i + 1) * span)
  }
  return createTokenDataset(tokens, starts, ds.vocabSize, ds.context)
}
