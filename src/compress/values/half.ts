// IEEE 754 binary16 conversion: the native Float16Array when the runtime has one (Node ≥ 24),
// else a bit-exact software path; both round to nearest, ties to even.

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** Largest finite half: the fp16 encoder saturates here instead of sending ±Inf. */
export const HALF_MAX = 65504

interface F16ArrayCtor { new (src: ArrayLike<number> | ArrayBufferLike, byteOffset?: number, length?: number): ArrayLike<number> & { buffer: ArrayBufferLike } }
const NativeF16 = (globalThis as unknown as { Float16Array?: F16ArrayCtor }).Float16Array

/** Half bits of a float32 value, round-to-nearest-even; overflow gives ±Inf bits (0x7c00). */
export function toHalfBits (x: number): number {
  f32[0] = x
  const b = u32[0]
  const sign = (b >>> 16) & 0x8000
  const exp = (b >>> 23) & 0xff
  const mant = b & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  const e = exp - 112 // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign // below half the smallest subnormal: rounds to ±0
    const m = mant | 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    let r = m >>> shift
    const rem = m & ((1 << shift) - 1)
    if (rem > half || (rem === half && (r & 1) === 1)) r++
    return sign | r
  }
  let r = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // a carry out of the mantissa correctly bumps the exponent (up to Inf)
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++
  return sign | r
}

/** Float value of half bits (exact in float32). */
export function fromHalfBits (h: number): number {
  const s = (h & 0x8000) !== 0 ? -1 : 1
  const e = (h >>> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return s * m * 5.960464477539063e-8 // 2^-24
  if (e === 0x1f) return m !== 0 ? NaN : s * Infinity
  return s * (1024 + m) * 2 ** (e - 25)
}

/** Half bits of src[0 .. count) into out (native conversion when available). */
export function floatsToHalf (src: Float32Array, count: number, out: Uint16Array): void {
  if (NativeF16 !== undefined) {
    const h = new NativeF16(src.subarray(0, count))
    out.set(new Uint16Array(h.buffer, 0, count))
    return
  }
  for (let i = 0; i < count; i++) out[i] = toHalfBits(src[i])
}

/** Floats of half bits src[0 .. count) into out. */
export function halfToFloats (src: Uint16Array, count: number, out: Float32Array): void {
  if (NativeF16 !== undefined) {
    out.set(new NativeF16(src.buffer, src.byteOffset, count) as unknown as ArrayLike<number>)
    return
  }
  for (let i = 0; i < count; i++) out[i] = fromHalfBits(src[i])
}

/** True when the native path is in use (tests compare it against the software path). */
export const HAS_NATIVE_HALF = NativeF16 !== undefined
