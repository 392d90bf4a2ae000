// The float value codecs: fp32 (lossless reference) and fp16 (saturating half precision),
// each value as little-endian bytes with no header.
import type { ValueCodec } from './codec.js'
import { assertFinite } from './codec.js'
import { HOST_LE, viewOf } from '../bits.js'
import { PayloadError, CompressErrorCode } from '../errors.js'
import { floatsToHalf, halfToFloats } from './half.js'

/** Bits of 65504, the largest finite half. */
const HALF_MAX_BITS = 0x7bff

export const fp32Codec: ValueCodec<'fp32'> = {
  id: 'fp32',
  byteLength: count => 4 * count,
  encode (values, _spec, _rng, out, offset) {
    const n = values.length
    if (HOST_LE) {
      out.set(new Uint8Array(values.buffer, values.byteOffset, 4 * n), offset)
      return
    }
    const dv = viewOf(out)
    for (let i = 0; i < n; i++) dv.setFloat32(offset + 4 * i, values[i], true)
  },
  decode (bytes, offset, count, _spec, out) {
    if (HOST_LE) {
      new Uint8Array(out.buffer, out.byteOffset, 4 * count).set(bytes.subarray(offset, offset + 4 * count))
    } else {
      const dv = viewOf(bytes)
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(offset + 4 * i, true)
    }
    assertFinite(out, count, 'fp32')
  }
}

export const fp16Codec: ValueCodec<'fp16'> = {
  id: 'fp16',
  byteLength: count => 2 * count,
  encode (values, _spec, _rng, out, offset) {
    const n = values.length
    const h = new Uint16Array(n)
    floatsToHalf(values, n, h)
    // |x| ≥ 65520 rounds to Inf: saturate instead (error feedback carries the excess)
    for (let i = 0; i < n; i++) {
      if ((h[i] & 0x7c00) === 0x7c00) h[i] = (h[i] & 0x8000) | HALF_MAX_BITS
    }
    if (HOST_LE) {
      out.set(new Uint8Array(h.buffer, 0, 2 * n), offset)
      return
    }
    for (let i = 0; i < n; i++) {
      out[offset + 2 * i] = h[i] & 0xff
      out[offset + 2 * i + 1] = h[i] >>> 8
    }
  },
  decode (bytes, offset, count, _spec, out) {
    const h = new Uint16Array(count)
    if (HOST_LE) new Uint8Array(h.buffer).set(bytes.subarray(offset, offset + 2 * count))
    else for (let i = 0; i < count; i++) h[i] = bytes[offset + 2 * i] | (bytes[offset + 2 * i + 1] << 8)
    let bad = 0
    for (let i = 0; i < count; i++) bad |= ((h[i] & 0x7c00) + 0x400) & 0x8000 // exponent 31 → bit 15
    if (bad !== 0) {
      const i = h.findIndex(x => (x & 0x7c00) === 0x7c00)
      throw new PayloadError(CompressErrorCode.NON_FINITE, 'fp16', `value ${i} is not finite`, { index: i })
    }
    halfToFloats(h, count, out)
  }
}
