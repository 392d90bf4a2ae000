// The q8/q4/q2/q1 value codecs: sign + magnitude on a per-block uniform grid lo + c·step,
// fitted to the block by Lloyd-style alternation (nearest level ↔ least-squares grid), so q2
// becomes the 2-means of |v| and q1 a mean-|v| sign code. Top-k values all sit far from zero:
// an offset grid spends no levels on the empty band around 0 that absmax grids waste.
import type { Rng } from '../../tensor/rng.js'
import type { ValueCodecId } from '../spec.js'
import type { ValueCodec } from './codec.js'
import { finiteStep, uniform32 } from './codec.js'
import { viewOf } from '../bits.js'
import { PayloadError, CompressErrorCode } from '../errors.js'

/** Grid refits per block: q2/q4 converge in a handful; q8's 128-level grid needs none. */
function fitIterations (levels: number): number {
  return levels <= 8 ? 6 : 0
}

/** Builds the codec for b ∈ {1, 2, 4, 8} bits per value: 1 sign bit + (b−1) magnitude bits. */
export function quantCodec<I extends ValueCodecId> (id: I, bits: 1 | 2 | 4 | 8): ValueCodec<I> {
  const levels = 1 << (bits - 1)
  const fieldMask = (1 << bits) - 1
  // value i sits in byte i >>> perByteLog at bit (i & lowMask)·bits: no 32-bit overflow of i·bits
  const perByteLog = 3 - Math.log2(bits)
  const lowMask = (1 << perByteLog) - 1
  return {
    id,
    byteLength: (count, spec) => 8 * Math.ceil(count / spec.block) + Math.ceil(count * bits / 8),
    encode (values, spec, rng, out, offset) {
      const n = values.length
      const B = spec.block
      const nb = Math.ceil(n / B)
      const dv = viewOf(out)
      const codes = offset + 8 * nb
      for (let b = 0; b < nb; b++) {
        const s = b * B
        const e = Math.min(n, s + B)
        const [lo, step] = rng === undefined ? fitNearest(values, s, e, levels) : fitRange(values, s, e, levels)
        dv.setFloat32(offset + 8 * b, lo, true)
        dv.setFloat32(offset + 8 * b + 4, step, true)
        writeFields(values, s, e, lo, step, levels, bits, perByteLog, rng, out, codes)
      }
    },
    decode (bytes, offset, count, spec, out) {
      const B = spec.block
      const nb = Math.ceil(count / B)
      const dv = viewOf(bytes)
      const codes = offset + 8 * nb
      const table = new Float32Array(2 * levels)
      for (let b = 0; b < nb; b++) {
        const lo = dv.getFloat32(offset + 8 * b, true)
        const step = dv.getFloat32(offset + 8 * b + 4, true)
        // levels are monotone in c, so finite ends mean every level is finite
        if (!Number.isFinite(lo) || !Number.isFinite(step) || !Number.isFinite(Math.fround(lo + (levels - 1) * step))) {
          throw new PayloadError(CompressErrorCode.NON_FINITE, id, `block ${b} grid lo=${lo} step=${step} is not finite`, { block: b })
        }
        for (let c = 0; c < levels; c++) {
          table[c] = lo + c * step // Float32Array store = the one rounding to float32
          table[c + levels] = -table[c]
        }
        const s = b * B
        const e = Math.min(count, s + B)
        for (let i = s; i < e; i++) {
          out[i] = table[(bytes[codes + (i >>> perByteLog)] >>> ((i & lowMask) * bits)) & fieldMask]
        }
      }
      if ((count & lowMask) !== 0 && (bytes[codes + (count >>> perByteLog)] >>> ((count & lowMask) * bits)) !== 0) {
        throw new PayloadError(CompressErrorCode.MALFORMED, id, 'non-zero padding bits')
      }
    }
  }
}

/**
 * Least-MSE grid for deterministic rounding: start from [min, max], then alternate nearest-
 * level assignment with the least-squares (lo, step) for that assignment. Both steps never
 * raise the squared error. Returns float32-representable (lo, step), both ≥ 0.
 */
function fitNearest (v: Float32Array, s: number, e: number, levels: number): [number, number] {
  let min = Infinity
  let max = 0
  let sum = 0
  for (let i = s; i < e; i++) {
    const m = Math.abs(v[i])
    if (m < min) min = m
    if (m > max) max = m
    sum += m
  }
  const n = e - s
  if (levels === 1 || max === min) return [Math.fround(levels === 1 ? sum / n : min), 0]
  let lo = min
  let step = (max - min) / (levels - 1)
  const top = levels - 1
  for (let it = fitIterations(levels); it > 0; it--) {
    let sc = 0; let scc = 0; let sm = 0; let scm = 0
    const inv = 1 / step
    for (let i = s; i < e; i++) {
      const m = Math.abs(v[i])
      let c = Math.floor((m - lo) * inv + 0.5)
      c = c < 0 ? 0 : c > top ? top : c
      sc += c; scc += c * c; sm += m; scm += c * m
    }
    const det = n * scc - sc * sc
    if (!(det > 0)) break // every value on one level: the grid is as good as it gets
    let nextStep = (n * scm - sc * sm) / det
    let nextLo = (sm - nextStep * sc) / n
    if (nextLo < 0) {
      // magnitudes must stay ≥ 0 (else a sign flips): the best grid with lo ≥ 0 then has lo = 0
      nextLo = 0
      nextStep = scm / scc
    }
    if (!(nextStep > 0)) break
    step = nextStep
    lo = nextLo
  }
  const flo = Math.fround(lo)
  // an intercept extrapolated past float32 range (inputs near 3.4e38): keep the plain grid
  if (!Number.isFinite(flo)) return fitRange(v, s, e, levels)
  return [flo, finiteStep(flo, Math.fround(step), levels - 1)]
}

/** Grid covering [min, max] exactly: stochastic rounding is unbiased only inside the grid. */
function fitRange (v: Float32Array, s: number, e: number, levels: number): [number, number] {
  let min = Infinity
  let max = 0
  for (let i = s; i < e; i++) {
    const m = Math.abs(v[i])
    if (m < min) min = m
    if (m > max) max = m
  }
  if (levels === 1) return [Math.fround((min + max) / 2), 0]
  const flo = Math.fround(min)
  return [flo, finiteStep(flo, Math.fround((max - min) / (levels - 1)), levels - 1)]
}

/** Packs (sign << (bits−1)) | level for v[s .. e) LSB-first into the zeroed code region. */
function writeFields (v: Float32Array, s: number, e: number, lo: number, step: number, levels: number, bits: number,
  perByteLog: number, rng: Rng | undefined, out: Uint8Array, codes: number): void {
  const lowMask = (1 << perByteLog) - 1
  const top = levels - 1
  const signBit = 1 << (bits - 1)
  const inv = step > 0 ? 1 / step : 0
  for (let i = s; i < e; i++) {
    const x = v[i]
    let c = 0
    if (inv !== 0) {
      const t = (Math.abs(x) - lo) * inv
      c = Math.floor(rng === undefined ? t + 0.5 : t + uniform32(rng))
      c = c < 0 ? 0 : c > top ? top : c
    }
    const field = (x < 0 ? signBit : 0) | c
    out[codes + (i >>> perByteLog)] |= field << ((i & lowMask) * bits)
  }
}

/** Bits per value of each q codec: also used by the ratio estimate. */
export const QUANT_BITS = { q8: 8, q4: 4, q2: 2, q1: 1 } as const
