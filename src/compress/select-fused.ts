// Global top-k fused into the error-feedback sum: one pass writes acc = vector + residual and
// gathers the candidates above a bound estimated from a sample, so 10 M floats are read once.
// The sample only decides speed, never the result: the exact selection runs on a superset of
// the answer, and a bad sample falls back to the two-pass radix select.
import { selectAmong, topkCount } from './select.js'

/** Samples taken to place the bound: ~1.5·k·m/n + 16 of them land above it. */
const SAMPLES = 16384
/**
 * Aim the bound at this many times k candidates: with ≥ 16 samples above the bound, falling
 * below k needs a > 5σ sampling error; more would cost branch mispredictions in the pass.
 */
const OVERSHOOT = 1.5
/** Below this size a second pass is cheap and the sample is noisy: use the plain path. */
export const FUSED_MIN_ELEMENTS = 1 << 16

const GOLDEN = 0.6180339887498949

export interface FusedResult {
  /** ascending top-k indices, or undefined when the caller must select on acc itself */
  readonly indices: Uint32Array | undefined
  /** acc at those indices */
  readonly values?: Float32Array
  /** acc holds NaN or ±Inf (acc is fully written either way) */
  readonly nonFinite: boolean
}

/**
 * Writes acc[i] = float32(vector[i] + residual[i]) for all i (acc may be residual itself) and
 * returns the exact global top-k of |acc| (ties to the lower index), like selectTopk.
 */
export function accumulateTopk (vector: Float32Array, residual: Float32Array | undefined, acc: Float32Array, fraction: number): FusedResult {
  const n = vector.length
  const k = topkCount(fraction, n)
  const lo = n >= FUSED_MIN_ELEMENTS ? sampledBound(vector, residual, n, k) : 0
  if (!(lo > 0)) return { indices: undefined, nonFinite: plainSum(vector, residual, acc) }
  // expected candidates ≈ OVERSHOOT·k; room for 2× that before giving up on the guess
  const cap = Math.ceil(2 * OVERSHOOT * k) + 4096
  const cand = new Uint32Array(cap)
  const vals = new Float32Array(cap)
  const c = residual === undefined
    ? gatherCopy(vector, acc, lo, cand, vals, cap)
    : gatherSum(vector, residual, acc, lo, cand, vals, cap)
  if (c > cap) return { indices: undefined, nonFinite: !allFinite(acc, n) }
  if (!allFinite(vals, c)) return { indices: undefined, nonFinite: true }
  if (c < k) return { indices: undefined, nonFinite: false }
  const mags = magnitudes(vals, c)
  const out = new Uint32Array(k)
  const values = new Float32Array(k)
  selectAmong(mags, cand, c, k, out, 0, undefined, { from: vals, to: values })
  return { indices: out, values, nonFinite: false }
}

// The hot loops live in small functions of their own: V8 then optimizes each whole function
// after a call or two, instead of on-stack-replacing a loop inside a big function and
// deoptimizing on its way out (which cost 2–3× on every encode).

/**
 * acc[i] = float32(v[i] + r[i]); candidates are the i with !(|acc[i]| < lo), which also admits
 * NaN and ±Inf so that finiteness is checked on the few candidates, not per element here.
 * Returns the candidate count (may exceed cap: only the first cap are stored).
 */
function gatherSum (v: Float32Array, r: Float32Array, acc: Float32Array, lo: number, cand: Uint32Array, vals: Float32Array, cap: number): number {
  let c = 0
  for (let i = 0, n = v.length; i < n; i++) {
    // fround: compare exactly the float32 that is stored, not the double sum
    const f = Math.fround(v[i] + r[i])
    acc[i] = f
    if (!(Math.abs(f) < lo)) {
      if (c < cap) {
        cand[c] = i
        vals[c] = f
      }
      c++
    }
  }
  return c
}

/** gatherSum without a residual. */
function gatherCopy (v: Float32Array, acc: Float32Array, lo: number, cand: Uint32Array, vals: Float32Array, cap: number): number {
  let c = 0
  for (let i = 0, n = v.length; i < n; i++) {
    const f = v[i]
    acc[i] = f
    if (!(Math.abs(f) < lo)) {
      if (c < cap) {
        cand[c] = i
        vals[c] = f
      }
      c++
    }
  }
  return c
}

/** |v| as float bits (sign cleared), in a separate array: vals keeps its signs for the payload. */
function magnitudes (vals: Float32Array, c: number): Uint32Array {
  const mags = new Uint32Array(c)
  mags.set(new Uint32Array(vals.buffer, vals.byteOffset, c))
  for (let j = 0; j < c; j++) mags[j] &= 0x7fffffff
  return mags
}

function allFinite (a: Float32Array, n: number): boolean {
  let bad = false
  for (let i = 0; i < n; i++) {
    const f = a[i]
    if (f - f !== 0) bad = true
  }
  return !bad
}

/** acc = vector + residual; true when it holds NaN or ±Inf. */
export function plainSum (vector: Float32Array, residual: Float32Array | undefined, acc: Float32Array): boolean {
  sumInto(vector, residual, acc)
  return !allFinite(acc, acc.length)
}

/** acc = vector + residual, unchecked. */
export function sumInto (vector: Float32Array, residual: Float32Array | undefined, acc: Float32Array): void {
  if (residual === undefined) {
    if (acc !== vector) acc.set(vector)
    return
  }
  for (let i = 0, n = vector.length; i < n; i++) acc[i] = vector[i] + residual[i]
}

/**
 * True when acc is finite at every selected index. After a top-k selection that is enough to
 * know all of acc is finite: NaN and ±Inf have the largest |bit patterns| of all, so any one
 * of them would be among the selected of its range (every range keeps ≥ 1).
 */
export function finiteAt (acc: Float32Array, indices: Uint32Array): boolean {
  let bad = false
  for (let j = 0; j < indices.length; j++) {
    const f = acc[indices[j]]
    if (f - f !== 0) bad = true
  }
  return !bad
}

/**
 * A magnitude that about OVERSHOOT·k elements of |vector + residual| reach, from a
 * golden-ratio (low-discrepancy, deterministic) sample; 0 when no useful bound exists.
 */
function sampledBound (vector: Float32Array, residual: Float32Array | undefined, n: number, k: number): number {
  const rank = Math.ceil(OVERSHOOT * k * SAMPLES / n) + 16
  if (rank >= SAMPLES / 4) return 0 // k is a large share of n: gathering saves little
  const s = new Float32Array(SAMPLES)
  let t = 0
  for (let j = 0; j < SAMPLES; j++) {
    t += GOLDEN
    if (t >= 1) t -= 1
    const i = Math.floor(t * n)
    s[j] = Math.abs(residual === undefined ? vector[i] : Math.fround(vector[i] + residual[i]))
  }
  s.sort()
  const bound = s[SAMPLES - rank]
  return Number.isFinite(bound) ? bound : 0
}
