// The value-codec interface: how an array of floats (a dense vector, or the values picked by
// top-k) becomes a byte section and back. Sizes depend only on the count, so a decoder checks
// a section's exact length before it allocates or reads anything.
import type { Rng } from '../../tensor/rng.js'
import type { ValueCodecId, ValueSpec } from '../spec.js'
import { PayloadError, CompressErrorCode } from '../errors.js'

export interface ValueCodec<I extends ValueCodecId = ValueCodecId> {
  readonly id: I
  /** Exact byte length of the section holding `count` values. */
  byteLength: (count: number, spec: ValueSpec) => number
  /**
   * Writes the section for `values` (all finite) at out[offset ..]; the region is zero-filled
   * by the caller. `rng` is present when spec.rounding is 'stoch'.
   */
  encode: (values: Float32Array, spec: ValueSpec, rng: Rng | undefined, out: Uint8Array, offset: number) => void
  /**
   * Reads `count` values into out[0 .. count). The caller has checked that byteLength bytes
   * are present at offset. Throws PayloadError on non-finite or out-of-domain content.
   */
  decode: (bytes: Uint8Array, offset: number, count: number, spec: ValueSpec, out: Float32Array) => void
}

/** Throws ERR_COMPRESS_NON_FINITE naming the first NaN/±Inf in out[0 .. count), if any. */
export function assertFinite (out: Float32Array, count: number, section: string): void {
  // x·0 is NaN exactly when x is NaN or ±Inf: one branch-free pass, then a search on failure
  let probe = 0
  for (let i = 0; i < count; i++) probe += out[i] * 0
  if (!Number.isNaN(probe)) return
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(out[i])) {
      throw new PayloadError(CompressErrorCode.NON_FINITE, section, `value ${i} is ${out[i]}`, { index: i })
    }
  }
}

/** Uniform in [0, 1) with 32 random bits: enough for rounding, half the cost of Rng.next(). */
export function uniform32 (rng: Rng): number {
  return rng.u32() * 2.3283064365386963e-10
}

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/**
 * Largest float32 step ≤ `step` (≥ 0) whose top level float32(lo + top·step) is finite: near
 * float32 max, rounding of a scale can push the top level past it, which decoders refuse.
 */
export function finiteStep (lo: number, step: number, top: number): number {
  let s = step
  while (s > 0 && !Number.isFinite(Math.fround(lo + top * s))) {
    f32[0] = s
    u32[0] -= 1 // next float32 toward zero (s is positive and finite)
    s = f32[0]
  }
  return s
}
