// Composes the stages into a payload: dense = one value section over the whole vector;
// sparse = k (u32) + index section + value section over the k selected values.
import type { Rng } from '../tensor/rng.js'
import type { CodecSpec } from './spec.js'
import { VALUE_CODECS } from './values/index.js'
import { maxTopk, selectTopk } from './select.js'
import { INDEX_BLOCK, decodeIndices, planIndices } from './indices.js'
import { readU32, writeU32 } from './bits.js'
import { PayloadError, CompressErrorCode } from './errors.js'

export interface EncodedPayload {
  readonly bytes: Uint8Array
  /** ascending indices sent (sparse specs only) */
  readonly indices: Uint32Array | undefined
}

/**
 * Encodes `acc` (finite, length = total). `selected` are the top-k indices (and, optionally,
 * acc at them) when the caller already has them; otherwise they are selected here.
 */
export function encodePayload (spec: CodecSpec, acc: Float32Array, rng: Rng | undefined,
  selected?: { indices: Uint32Array, values?: Float32Array }): EncodedPayload {
  const codec = VALUE_CODECS[spec.values.id]
  if (spec.topk === undefined) {
    const bytes = new Uint8Array(codec.byteLength(acc.length, spec.values))
    codec.encode(acc, spec.values, rng, bytes, 0)
    return { bytes, indices: undefined }
  }
  const indices = selected?.indices ?? selectTopk(acc, spec.topk)
  const k = indices.length
  const values = selected?.values ?? gather(acc, indices)
  const plan = planIndices(indices)
  const bytes = new Uint8Array(4 + plan.byteLength + codec.byteLength(k, spec.values))
  writeU32(bytes, 0, k)
  plan.write(bytes, 4)
  codec.encode(values, spec.values, rng, bytes, 4 + plan.byteLength)
  return { bytes, indices }
}

/** A validated payload: dense values (indices undefined) or sparse (index, value) pairs. */
export interface PayloadParts {
  readonly indices: Uint32Array | undefined
  readonly values: Float32Array
}

/**
 * Reads and validates a payload for a vector of `total` elements (total comes from the local
 * layout, never from the wire). Sizes are checked before anything is allocated from them;
 * nothing is returned unless every check passed.
 */
export function readPayload (spec: CodecSpec, payload: Uint8Array, total: number): PayloadParts {
  const codec = VALUE_CODECS[spec.values.id]
  if (spec.topk === undefined) {
    exactLength(payload.length, codec.byteLength(total, spec.values), spec.values.id)
    const values = new Float32Array(total)
    codec.decode(payload, 0, total, spec.values, values)
    return { indices: undefined, values }
  }
  const k = readU32(payload, 0, 'sparse header')
  const cap = maxTopk(spec.topk, total)
  if (k > cap) {
    throw new PayloadError(CompressErrorCode.BAD_COUNT, 'sparse header', `${k} indices, ${spec.text} sends at most ${cap} of ${total}`, { count: k, max: cap })
  }
  const valueBytes = codec.byteLength(k, spec.values)
  // one width byte per index block is the least the index section can take
  const least = 4 + Math.ceil(k / INDEX_BLOCK) + valueBytes
  if (payload.length < least) {
    throw new PayloadError(CompressErrorCode.TRUNCATED, 'sparse header', `${k} indices need at least ${least} bytes, payload has ${payload.length}`,
      { need: least, have: payload.length })
  }
  const indices = new Uint32Array(k)
  const p = decodeIndices(payload, 4, k, total, indices)
  exactLength(payload.length - p, valueBytes, spec.values.id)
  const values = new Float32Array(k)
  codec.decode(payload, p, k, spec.values, values)
  return { indices, values }
}

export interface DecodedPayload extends PayloadParts {
  readonly vector: Float32Array
}

/**
 * readPayload, scattered into a dense vector of `total` elements: a fresh one, or `into`
 * (overwritten, length total) when the caller recycles a buffer.
 */
export function decodePayload (spec: CodecSpec, payload: Uint8Array, total: number, into?: Float32Array): DecodedPayload {
  const { indices, values } = readPayload(spec, payload, total)
  if (indices === undefined) {
    if (into === undefined) return { vector: values, indices, values }
    into.set(values)
    return { vector: into, indices, values }
  }
  let vector: Float32Array
  if (into === undefined) vector = new Float32Array(total)
  else {
    vector = into
    vector.fill(0)
  }
  scatter(indices, values, vector)
  return { vector, indices, values }
}

function gather (acc: Float32Array, indices: Uint32Array): Float32Array {
  const values = new Float32Array(indices.length)
  for (let j = 0; j < indices.length; j++) values[j] = acc[indices[j]]
  return values
}

/** vector[indices[j]] = values[j] (its own function: a hot loop over up to 10^7 elements). */
function scatter (indices: Uint32Array, values: Float32Array, vector: Float32Array): void {
  for (let j = 0; j < indices.length; j++) vector[indices[j]] = values[j]
}

function exactLength (have: number, want: number, section: string): void {
  if (have < want) throw new PayloadError(CompressErrorCode.TRUNCATED, section, `needs ${want} bytes, has ${have}`, { need: want, have })
  if (have > want) throw new PayloadError(CompressErrorCode.TRAILING_BYTES, section, `${have - want} bytes after the ${want} it needs`, { need: want, have })
}
