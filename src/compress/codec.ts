// The update codec as the node sees it: error feedback around encode (the residual of what
// the decoder will not reconstruct is carried to the next round), envelope in/out, and the
// ratio estimate. Pure: same inputs and state, same bytes.
import type { ParamLayout } from '../tensor/layout.js'
import { Rng } from '../tensor/rng.js'
import { MAX_ELEMENTS, parseSpec, type CodecSpec } from './spec.js'
import { maxTopk, selectTopk } from './select.js'
import { accumulateTopk, finiteAt, plainSum, sumInto } from './select-fused.js'
import { encodePayload, decodePayload, readPayload } from './payload.js'
import { INDEX_BLOCK } from './indices.js'
import { VALUE_CODECS } from './values/index.js'
import { defaultMaxBytes, readEnvelope, writeEnvelope, type EnvelopeMeta } from './envelope.js'
import { bitWidth } from './bits.js'
import { CompressError, InputError } from './errors.js'

/**
 * Owned by the node between rounds and passed back to the next encode. Nothing else keeps
 * codec state: drop `residual` to turn error feedback off.
 */
export interface CodecState {
  /** what earlier rounds selected but the decoder did not reconstruct; undefined = zeros */
  residual?: Float32Array
  /** seeds stochastic rounding together with `round` @default 0 */
  seed?: number
  /** advanced by one per encode, so successive rounds draw different random streams @default 0 */
  round?: number
}

export interface EncodedUpdate {
  /** the full envelope: version, spec, layout hash, count, payload (and meta) */
  readonly bytes: Uint8Array
  /** exactly what any decoder reconstructs from `bytes` */
  readonly sent: Float32Array
  /** the state to pass to the next encode */
  readonly state: CodecState
}

const specCache = new Map<string, CodecSpec>()

/** parseSpec with a small cache: encoders and decoders see the same few specs all run long. */
function cachedSpec (text: string): CodecSpec {
  let s = specCache.get(text)
  if (s === undefined) {
    s = parseSpec(text)
    if (specCache.size < 256) specCache.set(text, s)
  }
  return s
}

/** Options of one encode; none changes the bytes produced. */
export interface EncodeOptions extends EnvelopeMeta {
  /**
   * Write the new residual into state.residual's buffer instead of a fresh one: saves 4 bytes
   * per element of memory traffic per round, but the caller's old state is consumed.
   * @default false
   */
  inPlace?: boolean
  /**
   * Write `sent` into this buffer (length total, overwritten) instead of a fresh one: a node
   * can hand back last round's `sent`. Fresh 40 MB buffers cost more in page faults than
   * the encoding itself on small VMs.
   * @default undefined (allocate)
   */
  sentBuffer?: Float32Array
}

/**
 * Encodes vector + state.residual under `spec`. The new residual is (vector + residual) −
 * sent, where `sent` comes from decoding the payload just written, so quantization error
 * feeds back as well as the unsent elements. Throws SpecError / InputError (with inPlace, a
 * throw after the length checks leaves state.residual overwritten with vector + residual).
 */
export function encodeUpdate (spec: string, vector: Float32Array, layout: ParamLayout, state: CodecState = {}, opts: EncodeOptions = {}): EncodedUpdate {
  const parsed = cachedSpec(spec)
  const n = layout.total
  if (n > MAX_ELEMENTS) throw new InputError(`layout has ${n} elements, codecs handle at most ${MAX_ELEMENTS}`)
  if (vector.length !== n) throw new InputError(`vector has ${vector.length} elements, layout has ${n}`, { length: vector.length, total: n })
  const r = state.residual
  if (r !== undefined && r.length !== n) throw new InputError(`residual has ${r.length} elements, layout has ${n}`, { length: r.length, total: n })
  const into = opts.sentBuffer
  if (into !== undefined && (into.length !== n || into === vector || into === r)) {
    throw new InputError('sentBuffer must have layout.total elements and be neither the vector nor the residual')
  }

  // acc = vector + residual; it becomes the new residual below, so the caller's arrays are
  // untouched unless they asked for inPlace
  const acc = opts.inPlace === true && r !== undefined && r !== vector ? r : new Float32Array(n)
  let selected: { indices: Uint32Array, values?: Float32Array } | undefined
  let nonFinite: boolean
  if (parsed.topk === undefined) {
    nonFinite = plainSum(vector, r, acc)
  } else if (parsed.topk.chunk === undefined || parsed.topk.chunk >= n) {
    const fused = accumulateTopk(vector, r, acc, parsed.topk.fraction)
    nonFinite = fused.nonFinite
    if (fused.indices !== undefined) selected = { indices: fused.indices, values: fused.values }
    else if (!nonFinite) selected = { indices: selectTopk(acc, parsed.topk) }
  } else {
    sumInto(vector, r, acc)
    selected = { indices: selectTopk(acc, parsed.topk) }
    nonFinite = !finiteAt(acc, selected.indices)
  }
  if (nonFinite) throw new InputError('vector + residual holds NaN or ±Inf')

  const seed = state.seed ?? 0
  const round = state.round ?? 0
  const rng = parsed.values.rounding === 'stoch' ? new Rng(`${seed}:${round}`) : undefined
  let payload: Uint8Array
  let sent: Float32Array
  let indices: Uint32Array | undefined
  let sentValues: Float32Array
  try {
    payload = encodePayload(parsed, acc, rng, selected).bytes
    // decode our own payload: the residual is then exact w.r.t. every peer's reconstruction
    const decoded = decodePayload(parsed, payload, n, into)
    sent = decoded.vector
    indices = decoded.indices
    sentValues = decoded.values
  } catch (e) {
    // only near-float32-max inputs get here (a fitted grid level overflows); report as input
    if (e instanceof CompressError && !(e instanceof InputError)) throw new InputError(`${parsed.text} cannot represent this vector: ${e.message}`)
    throw e
  }
  const bytes = writeEnvelope(parsed, layout, payload, opts)

  if (indices !== undefined) subtractAt(acc, sentValues, indices)
  else subtractAll(acc, sent)
  return { bytes, sent, state: { residual: acc, seed, round: round + 1 } }
}

// hot loops in small functions of their own, so V8 optimizes them whole (see select-fused.ts)
function subtractAt (acc: Float32Array, values: Float32Array, indices: Uint32Array): void {
  for (let j = 0; j < indices.length; j++) acc[indices[j]] -= values[j]
}

function subtractAll (acc: Float32Array, sent: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] -= sent[i]
}

export interface DecodedUpdate {
  /** canonical spec the sender used */
  readonly spec: string
  /** dense reconstruction, length layout.total, every element finite */
  readonly vector: Float32Array
  readonly round: bigint | undefined
  readonly peer: Uint8Array | undefined
}

/**
 * Decodes an envelope for `layout`. Every hostile input ends in a CompressError with a stable
 * code; nothing is allocated from an unchecked length.
 * @param opts.maxBytes refuse larger envelopes @default 6·total + 4096
 */
export function decodeUpdate (bytes: Uint8Array, layout: ParamLayout, opts: { maxBytes?: number } = {}): DecodedUpdate {
  const env = readEnvelope(bytes, layout, opts.maxBytes ?? defaultMaxBytes(layout.total))
  const { vector } = decodePayload(env.spec, env.payload, layout.total)
  return { spec: env.spec.text, vector, round: env.round, peer: env.peer }
}

/**
 * The L2 norm of the update an envelope decodes to — float64, summed in index order, as
 * aggregate/'s l2Norm over the dense vector — without building that vector: the zeros a sparse
 * update leaves out add nothing, and its indices ascend. Throws like decodeUpdate.
 */
export function updateNorm (bytes: Uint8Array, layout: ParamLayout, opts: { maxBytes?: number } = {}): number {
  const env = readEnvelope(bytes, layout, opts.maxBytes ?? defaultMaxBytes(layout.total))
  const { values } = readPayload(env.spec, env.payload, layout.total)
  let s = 0
  for (let j = 0; j < values.length; j++) s += values[j] * values[j]
  return Math.sqrt(s)
}

/**
 * The round-layer metadata of an envelope (its round and author), with every envelope check of
 * decodeUpdate but without decoding the payload: what binds an update id to its author.
 */
export function readUpdateMeta (bytes: Uint8Array, layout: ParamLayout, opts: { maxBytes?: number } = {}): Omit<DecodedUpdate, 'vector'> {
  const env = readEnvelope(bytes, layout, opts.maxBytes ?? defaultMaxBytes(layout.total))
  return { spec: env.spec.text, round: env.round, peer: env.peer }
}

/**
 * Decodes an envelope and adds weight · update into `into` (length layout.total), without
 * allocating a dense vector for sparse specs: what an aggregator folding many peers wants.
 * `into` is untouched unless the whole envelope is valid. Throws like decodeUpdate.
 */
export function accumulateUpdate (bytes: Uint8Array, layout: ParamLayout, into: Float32Array, weight = 1,
  opts: { maxBytes?: number } = {}): Omit<DecodedUpdate, 'vector'> {
  if (into.length !== layout.total) throw new InputError(`accumulator has ${into.length} elements, layout has ${layout.total}`)
  const env = readEnvelope(bytes, layout, opts.maxBytes ?? defaultMaxBytes(layout.total))
  const { indices, values } = readPayload(env.spec, env.payload, layout.total)
  if (indices === undefined) {
    for (let i = 0; i < values.length; i++) into[i] += weight * values[i]
  } else {
    for (let j = 0; j < indices.length; j++) into[indices[j]] += weight * values[j]
  }
  return { spec: env.spec.text, round: env.round, peer: env.peer }
}

/** A codec bound to one spec and layout: the three-method face (encode, decode, estimate). */
export interface UpdateCodec {
  readonly spec: string
  readonly layout: ParamLayout
  encode: (vector: Float32Array, state?: CodecState, opts?: EncodeOptions) => EncodedUpdate
  /** decodes any spec (the envelope names it), for this layout */
  decode: (bytes: Uint8Array, opts?: { maxBytes?: number }) => DecodedUpdate
  estimateRatio: () => number
}

/** Validates `spec` once (throws ERR_COMPRESS_BAD_SPEC) and binds it to `layout`. */
export function createCodec (spec: string, layout: ParamLayout): UpdateCodec {
  const text = cachedSpec(spec).text
  return {
    spec: text,
    layout,
    encode: (vector, state = {}, opts = {}) => encodeUpdate(text, vector, layout, state, opts),
    decode: (bytes, opts = {}) => decodeUpdate(bytes, layout, opts),
    estimateRatio: () => estimateRatio(text, layout.total)
  }
}

/** Harmonic number H_128: expected max of 128 exponential gaps, in units of the mean gap. */
const H_INDEX_BLOCK = 5.4332

/**
 * Dense-fp32 bytes over envelope bytes. Exact for dense specs; for top-k it assumes the kept
 * indices are spread uniformly (index width per block ≈ bits of the expected largest gap).
 */
export function estimateRatio (spec: string, total: number): number {
  const parsed = cachedSpec(spec)
  if (!(Number.isInteger(total) && total > 0)) throw new InputError(`total must be a positive integer, got ${total}`)
  const codec = VALUE_CODECS[parsed.values.id]
  let payload: number
  if (parsed.topk === undefined) {
    payload = codec.byteLength(total, parsed.values)
  } else {
    const k = maxTopk(parsed.topk, total)
    const width = bitWidth(Math.round(H_INDEX_BLOCK * total / k))
    payload = 4 + Math.ceil(k / INDEX_BLOCK) + Math.ceil(k * width / 8) + codec.byteLength(k, parsed.values)
  }
  return 4 * total / envelopeBytes(parsed.text.length, total, payload)
}

/** Exact protobuf size of an envelope without round/peer. */
export function envelopeBytes (specLength: number, total: number, payload: number): number {
  return 2 + (1 + varintLength(specLength) + specLength) + 34 +
    (total > 0 ? 1 + varintLength(total) : 0) + (payload > 0 ? 1 + varintLength(payload) + payload : 0)
}

function varintLength (x: number): number {
  let n = 1
  while (x >= 128) { x = Math.floor(x / 128); n++ }
  return n
}
