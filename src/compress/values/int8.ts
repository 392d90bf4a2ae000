// The int8 value codec: symmetric blockwise quantization, one float32 scale (absmax / 127)
// per block and one signed byte per value. The classic dense baseline.
import type { ValueCodec } from './codec.js'
import { finiteStep, uniform32 } from './codec.js'
import { viewOf } from '../bits.js'
import { PayloadError, CompressErrorCode } from '../errors.js'

export const int8Codec: ValueCodec<'int8'> = {
  id: 'int8',
  byteLength: (count, spec) => 4 * Math.ceil(count / spec.block) + count,
  encode (values, spec, rng, out, offset) {
    const n = values.length
    const B = spec.block
    const nb = Math.ceil(n / B)
    const dv = viewOf(out)
    const codes = offset + 4 * nb
    for (let b = 0; b < nb; b++) {
      const s = b * B
      const e = Math.min(n, s + B)
      let absmax = 0
      for (let i = s; i < e; i++) {
        const a = Math.abs(values[i])
        if (a > absmax) absmax = a
      }
      const scale = finiteStep(0, Math.fround(absmax / 127), 127)
      dv.setFloat32(offset + 4 * b, scale, true)
      if (scale === 0) continue // all zero (or below float32 range): codes stay 0
      if (rng === undefined) {
        for (let i = s; i < e; i++) {
          const q = Math.floor(values[i] / scale + 0.5)
          out[codes + i] = (q > 127 ? 127 : q < -127 ? -127 : q) & 0xff
        }
      } else {
        // floor(x + u) with u ~ U[0,1) is unbiased between the two neighbouring levels
        for (let i = s; i < e; i++) {
          const q = Math.floor(values[i] / scale + uniform32(rng))
          out[codes + i] = (q > 127 ? 127 : q < -127 ? -127 : q) & 0xff
        }
      }
    }
  },
  decode (bytes, offset, count, spec, out) {
    const B = spec.block
    const nb = Math.ceil(count / B)
    const dv = viewOf(bytes)
    const codes = offset + 4 * nb
    for (let b = 0; b < nb; b++) {
      const scale = dv.getFloat32(offset + 4 * b, true)
      if (!Number.isFinite(scale) || !Number.isFinite(Math.fround(127 * scale))) {
        throw new PayloadError(CompressErrorCode.NON_FINITE, 'int8', `block ${b} scale ${scale} is not finite or overflows`, { block: b })
      }
      const s = b * B
      const e = Math.min(count, s + B)
      let bad = 0
      for (let i = s; i < e; i++) {
        const byte = bytes[codes + i]
        bad |= byte === 0x80 ? 1 : 0
        out[i] = ((byte << 24) >> 24) * scale
      }
      // -128 is never written (codes are clamped to ±127): refusing it keeps one encoding per update
      if (bad !== 0) throw new PayloadError(CompressErrorCode.MALFORMED, 'int8', `block ${b} holds code -128`, { block: b })
    }
  }
}
