// Little-endian byte and bit helpers shared by the codecs: fixed-width LSB-first bit
// packing (index deltas) and bounds-checked scalar reads, so every codec agrees on one order.
import { PayloadError, CompressErrorCode } from './errors.js'

/** Typed-array fast paths copy raw memory only when the host is little-endian like the wire. */
export const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const POW2: Float64Array = (() => {
  const t = new Float64Array(54)
  for (let i = 0; i < 54; i++) t[i] = 2 ** i
  return t
})()

/** Bits needed to write x (0 for x = 0); x < 2^32. */
export function bitWidth (x: number): number {
  return 32 - Math.clz32(x)
}

/** Bytes taken by `count` fields of `width` bits packed back to back. */
export function packedBytes (count: number, width: number): number {
  return Math.ceil(count * width / 8)
}

/**
 * Writes values[start .. start+count) as `width`-bit fields (width ≤ 31), LSB-first: field j
 * occupies stream bits [j·width, (j+1)·width), stream bit i is bit (i mod 8) of byte i/8.
 * Unused high bits of the last byte are zero. Returns bytes written.
 */
export function packBits (values: Uint32Array, start: number, count: number, width: number, out: Uint8Array, offset: number): number {
  if (width === 0) return 0
  if (width > 24) return packBitsWide(values, start, count, width, out, offset)
  // ≤ 7 pending bits + a 24-bit field fit in 31 bits: plain integer shifts
  let buf = 0
  let nbits = 0
  let p = offset
  for (let j = start, end = start + count; j < end; j++) {
    buf |= values[j] << nbits
    nbits += width
    while (nbits >= 8) {
      out[p++] = buf & 0xff
      buf >>>= 8
      nbits -= 8
    }
  }
  if (nbits > 0) out[p++] = buf & 0xff
  return p - offset
}

/** packBits for 25–31-bit fields: a double holds < 2^38 here, exact and free of 32-bit overflow. */
function packBitsWide (values: Uint32Array, start: number, count: number, width: number, out: Uint8Array, offset: number): number {
  let buf = 0
  let nbits = 0
  let p = offset
  for (let j = start, end = start + count; j < end; j++) {
    buf += values[j] * POW2[nbits]
    nbits += width
    while (nbits >= 8) {
      out[p++] = buf & 0xff // ToInt32 keeps the low 32 bits, so the low byte is exact
      buf = Math.floor(buf / 256)
      nbits -= 8
    }
  }
  if (nbits > 0) out[p++] = buf & 0xff
  return p - offset
}

/**
 * Reads `count` fields of `width` bits written by packBits into out[outStart ..]. The caller
 * has checked that packedBytes(count, width) bytes are present; non-zero padding bits throw
 * ERR_COMPRESS_MALFORMED (one update, one encoding).
 */
export function unpackBits (bytes: Uint8Array, offset: number, count: number, width: number, out: Uint32Array, outStart: number, section: string): void {
  if (width === 0) {
    out.fill(0, outStart, outStart + count)
    return
  }
  const rest = width > 24
    ? unpackBitsWide(bytes, offset, count, width, out, outStart)
    : unpackBitsNarrow(bytes, offset, count, width, out, outStart)
  if (rest !== 0) throw new PayloadError(CompressErrorCode.MALFORMED, section, 'non-zero padding bits')
}

/** Fields of ≤ 24 bits with integer shifts; returns the leftover (padding) bits. */
function unpackBitsNarrow (bytes: Uint8Array, offset: number, count: number, width: number, out: Uint32Array, outStart: number): number {
  const mask = (1 << width) - 1
  let buf = 0
  let nbits = 0
  let p = offset
  for (let j = outStart, end = outStart + count; j < end; j++) {
    while (nbits < width) {
      buf |= bytes[p++] << nbits
      nbits += 8
    }
    out[j] = buf & mask
    buf >>>= width
    nbits -= width
  }
  return buf
}

/** Fields of 25–31 bits in double arithmetic (exact below 2^53); returns the leftover bits. */
function unpackBitsWide (bytes: Uint8Array, offset: number, count: number, width: number, out: Uint32Array, outStart: number): number {
  let buf = 0
  let nbits = 0
  let p = offset
  const div = POW2[width]
  for (let j = outStart, end = outStart + count; j < end; j++) {
    while (nbits < width) {
      buf += bytes[p++] * POW2[nbits]
      nbits += 8
    }
    const v = buf % div
    out[j] = v
    buf = (buf - v) / div
    nbits -= width
  }
  return buf
}

/** Refuses to read past the end: every length is checked before it is used. */
export function need (bytes: Uint8Array, offset: number, length: number, section: string): void {
  if (length < 0 || offset + length > bytes.length) {
    throw new PayloadError(CompressErrorCode.TRUNCATED, section, `needs ${length} bytes at offset ${offset}, payload has ${bytes.length}`,
      { need: offset + length, have: bytes.length })
  }
}

export function readU32 (bytes: Uint8Array, offset: number, section: string): number {
  need(bytes, offset, 4, section)
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0
}

export function writeU32 (out: Uint8Array, offset: number, v: number): void {
  out[offset] = v & 0xff
  out[offset + 1] = (v >>> 8) & 0xff
  out[offset + 2] = (v >>> 16) & 0xff
  out[offset + 3] = (v >>> 24) & 0xff
}

/** A DataView over exactly the bytes of `b` (which may be a subarray of a larger buffer). */
export function viewOf (b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength)
}
