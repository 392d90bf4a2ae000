// Sparse index section: strictly increasing indices as deltas (first one is index + 1), in
// blocks of 128 with one width byte each, bit-packed LSB-first. A delta of 0 is a duplicate.
import { bitWidth, need, packBits, packedBytes, unpackBits } from './bits.js'
import { PayloadError, CompressErrorCode } from './errors.js'

/** Deltas per width byte: 1 byte per 128 indices costs < 0.07 bits per index. */
export const INDEX_BLOCK = 128
/** Indices are < 2^31 (MAX_ELEMENTS), so no delta needs more bits. */
export const MAX_INDEX_WIDTH = 31

/** Deltas d_0 = i_0 + 1, d_j = i_j − i_(j−1); ≥ 1 for strictly increasing indices. */
function deltas (idx: Uint32Array): Uint32Array {
  const d = new Uint32Array(idx.length)
  let prev = -1
  for (let j = 0; j < idx.length; j++) {
    d[j] = idx[j] - prev
    prev = idx[j]
  }
  return d
}

export interface EncodedIndices {
  /** bytes the section takes */
  readonly byteLength: number
  /** writes the section at out[offset ..] (zero-filled region) */
  readonly write: (out: Uint8Array, offset: number) => void
}

/** Plans the index section for ascending `idx` so the caller can size one exact buffer. */
export function planIndices (idx: Uint32Array): EncodedIndices {
  const d = deltas(idx)
  const blocks = Math.ceil(d.length / INDEX_BLOCK)
  const widths = new Uint8Array(blocks)
  let size = 0
  for (let b = 0; b < blocks; b++) {
    const s = b * INDEX_BLOCK
    const e = Math.min(d.length, s + INDEX_BLOCK)
    let or = 0
    for (let j = s; j < e; j++) or |= d[j]
    widths[b] = bitWidth(or >>> 0)
    size += 1 + packedBytes(e - s, widths[b])
  }
  return {
    byteLength: size,
    write (out, offset) {
      let p = offset
      for (let b = 0; b < blocks; b++) {
        const s = b * INDEX_BLOCK
        const cnt = Math.min(d.length, s + INDEX_BLOCK) - s
        out[p++] = widths[b]
        p += packBits(d, s, cnt, widths[b], out, p)
      }
    }
  }
}

/**
 * Reads `k` indices (k already capped by the caller) into out[0 .. k); returns the offset
 * after the section. Every width and length is checked before it is used; an index ≥ total
 * is ERR_COMPRESS_INDEX_RANGE, a zero delta ERR_COMPRESS_INDEX_ORDER.
 */
export function decodeIndices (bytes: Uint8Array, offset: number, k: number, total: number, out: Uint32Array): number {
  let p = offset
  for (let s = 0; s < k; s += INDEX_BLOCK) {
    const cnt = Math.min(k, s + INDEX_BLOCK) - s
    need(bytes, p, 1, 'indices')
    const w = bytes[p++]
    if (w > MAX_INDEX_WIDTH) {
      throw new PayloadError(CompressErrorCode.MALFORMED, 'indices', `block ${s / INDEX_BLOCK} width ${w} > ${MAX_INDEX_WIDTH}`, { width: w })
    }
    const len = packedBytes(cnt, w)
    need(bytes, p, len, 'indices')
    unpackBits(bytes, p, cnt, w, out, s, 'indices')
    p += len
  }
  let prev = -1
  for (let j = 0; j < k; j++) {
    const d = out[j]
    if (d === 0) {
      throw new PayloadError(CompressErrorCode.INDEX_ORDER, 'indices', `index ${j} repeats index ${prev}`, { position: j, index: prev })
    }
    const i = prev + d
    if (i >= total) {
      throw new PayloadError(CompressErrorCode.INDEX_RANGE, 'indices', `index ${j} is ${i}, layout has ${total} elements`, { position: j, index: i })
    }
    out[j] = i
    prev = i
  }
  return p
}
