// The update envelope (protocols/update.proto): version, canonical codec spec, layout hash and
// element count around the codec payload. Checked field by field before the payload is read.
import { layoutHash, type ParamLayout } from '../tensor/layout.js'
import { UpdateEnvelope } from './wire/update.js'
import { parseCanonicalSpec, type CodecSpec } from './spec.js'
import { EnvelopeError, CompressErrorCode } from './errors.js'

/** Envelope and payload layout version written by this code; decoders refuse others. */
export const ENVELOPE_VERSION = 1

/** Round-layer metadata carried beside the payload; the codec neither needs nor checks it. */
export interface EnvelopeMeta {
  round?: number
  peer?: Uint8Array
}

const hashes = new WeakMap<ParamLayout, Uint8Array>()

/** layoutHash, memoised per layout object (decoders check it on every update). */
export function cachedLayoutHash (layout: ParamLayout): Uint8Array {
  let h = hashes.get(layout)
  if (h === undefined) {
    h = layoutHash(layout)
    hashes.set(layout, h)
  }
  return h
}

/**
 * Default byte cap for an envelope for `total` elements: above any valid encoding (the
 * largest, topk:1+fp32, is ≈ 4.2 bytes per element) so only hostile input meets it.
 */
export function defaultMaxBytes (total: number): number {
  return 6 * total + 4096
}

export function writeEnvelope (spec: CodecSpec, layout: ParamLayout, payload: Uint8Array, meta: EnvelopeMeta = {}): Uint8Array {
  return UpdateEnvelope.encode({
    version: ENVELOPE_VERSION,
    codec: spec.text,
    layoutHash: cachedLayoutHash(layout) as Uint8Array<ArrayBuffer>,
    total: BigInt(layout.total),
    payload: payload as Uint8Array<ArrayBuffer>,
    // only the metadata fields: callers may pass a wider options object
    round: meta.round === undefined ? undefined : BigInt(meta.round),
    peer: meta.peer as Uint8Array<ArrayBuffer> | undefined
  })
}

export interface OpenedEnvelope {
  readonly spec: CodecSpec
  readonly payload: Uint8Array
  readonly round: bigint | undefined
  readonly peer: Uint8Array | undefined
}

/** Parses and checks everything but the payload. */
export function readEnvelope (bytes: Uint8Array, layout: ParamLayout, maxBytes = defaultMaxBytes(layout.total)): OpenedEnvelope {
  if (bytes.length > maxBytes) {
    throw new EnvelopeError(CompressErrorCode.TOO_LARGE, `envelope is ${bytes.length} bytes, cap is ${maxBytes}`, { size: bytes.length, max: maxBytes })
  }
  let env: UpdateEnvelope
  try {
    env = UpdateEnvelope.decode(bytes)
  } catch (e) {
    // protons throws plain Errors/RangeErrors on bad varints, wire types and lengths
    throw new EnvelopeError(CompressErrorCode.BAD_ENVELOPE, `not an UpdateEnvelope: ${(e as Error).message}`)
  }
  if (env.version !== ENVELOPE_VERSION) {
    throw new EnvelopeError(CompressErrorCode.VERSION, `envelope version ${env.version}, this decoder speaks ${ENVELOPE_VERSION}`,
      { version: env.version, expected: ENVELOPE_VERSION })
  }
  if (!equalBytes(env.layoutHash, cachedLayoutHash(layout))) {
    throw new EnvelopeError(CompressErrorCode.LAYOUT_MISMATCH, 'layout hash differs: the update is for another model')
  }
  if (env.total !== BigInt(layout.total)) {
    throw new EnvelopeError(CompressErrorCode.LAYOUT_MISMATCH, `update has ${env.total} elements, layout has ${layout.total}`,
      { total: env.total, expected: layout.total })
  }
  const spec = parseCanonicalSpec(env.codec)
  return { spec, payload: env.payload, round: env.round, peer: env.peer }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
