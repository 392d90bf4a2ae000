// Top-k selection by magnitude in O(n): a radix select on the bits of |v| (a float's bit
// pattern orders like its value when non-negative), so 10 M floats need ~2 passes, not a sort.
// select-reference.ts holds the obviously-correct sort-based version it is tested against.
import type { TopkSpec } from './spec.js'

/**
 * Elements kept from a range of `len`: round(fraction·len) clamped to [1, len] (0 when len is
 * 0). Computed in IEEE double as floor(fraction·len + 0.5); compression.md repeats this rule.
 */
export function topkCount (fraction: number, len: number): number {
  if (len <= 0) return 0
  return Math.min(len, Math.max(1, Math.floor(fraction * len + 0.5)))
}

/** Ranges [start, end) selected independently: one for global top-k, one per chunk otherwise. */
export function topkRanges (topk: TopkSpec, total: number): Array<[number, number]> {
  if (topk.chunk === undefined || topk.chunk >= total) return total > 0 ? [[0, total]] : []
  const ranges: Array<[number, number]> = []
  for (let s = 0; s < total; s += topk.chunk) ranges.push([s, Math.min(total, s + topk.chunk)])
  return ranges
}

/** Exactly how many indices the encoder sends; the decoder refuses more. */
export function maxTopk (topk: TopkSpec, total: number): number {
  if (total <= 0) return 0
  if (topk.chunk === undefined || topk.chunk >= total) return topkCount(topk.fraction, total)
  const full = Math.floor(total / topk.chunk)
  const rest = total - full * topk.chunk
  return full * topkCount(topk.fraction, topk.chunk) + topkCount(topk.fraction, rest)
}

/** First-level histogram key: exponent and 3 mantissa bits of |v| (2048 bins, fits L1). */
export const L1_SHIFT = 20
export const L1_BINS = 2048

/** Reusable buffers: chunked selection runs thousands of small selections per vector. */
export interface SelectScratch {
  /** one histogram per radix level: 2^11, 2^12, 2^8 bins */
  readonly hist: readonly [Uint32Array, Uint32Array, Uint32Array]
  /** candidate indices and magnitudes, capacity ≥ the longest range */
  readonly cand: Uint32Array
  readonly mags: Uint32Array
  /** room to sort a small candidate set */
  readonly sorted: Uint32Array
}

export function createScratch (capacity: number): SelectScratch {
  return {
    hist: [new Uint32Array(1 << LEVELS[0][1]), new Uint32Array(1 << LEVELS[1][1]), new Uint32Array(1 << LEVELS[2][1])],
    cand: new Uint32Array(capacity),
    mags: new Uint32Array(capacity),
    sorted: new Uint32Array(Math.min(capacity, SMALL_SET))
  }
}

/**
 * Ascending indices of the top-k |x| per range of `topk`; ties go to the lower index so the
 * choice is a pure function of x.
 */
export function selectTopk (x: Float32Array, topk: TopkSpec): Uint32Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length)
  const ranges = topkRanges(topk, x.length)
  const out = new Uint32Array(maxTopk(topk, x.length))
  if (ranges.length <= 1) {
    if (ranges.length === 1) selectRange(u, 0, x.length, out.length, out, 0)
    return out
  }
  const scratch = createScratch(ranges[0][1] - ranges[0][0])
  let pos = 0
  for (const [s, e] of ranges) pos = selectRange(u, s, e, topkCount(topk.fraction, e - s), out, pos, scratch)
  return out
}

/**
 * Writes the indices of the k largest |u[i]| (u = float bits) in [start, end) to out[pos ..]
 * in ascending order; returns the new pos. The level-1 histogram (exponent + 3 mantissa bits)
 * picks the bin holding the k-th largest; everything in or above it is gathered, in index
 * order, and selectAmong finishes on that small set.
 */
export function selectRange (u: Uint32Array, start: number, end: number, k: number, out: Uint32Array, pos: number,
  scratch?: SelectScratch): number {
  const len = end - start
  if (k <= 0) return pos
  if (k >= len) {
    for (let i = start; i < end; i++) out[pos++] = i
    return pos
  }
  const h = scratch?.hist[0] ?? new Uint32Array(L1_BINS)
  magnitudeHistogram(u, start, end, h)
  let above = 0
  let b = L1_BINS - 1
  for (; b > 0; b--) {
    if (above + h[b] >= k) break
    above += h[b]
  }
  const size = above + h[b]
  const cand = scratch?.cand ?? new Uint32Array(size)
  const mags = scratch?.mags ?? new Uint32Array(size)
  const c = gatherAtLeast(u, start, end, b << L1_SHIFT, cand, mags)
  return selectAmong(mags, cand, c, k, out, pos, scratch)
}

// Hot loops sit in small functions of their own so that V8 optimizes each one whole.

function magnitudeHistogram (u: Uint32Array, start: number, end: number, h: Uint32Array): void {
  h.fill(0)
  for (let i = start; i < end; i++) h[(u[i] & 0x7fffffff) >>> L1_SHIFT]++
}

function gatherAtLeast (u: Uint32Array, start: number, end: number, lo: number, cand: Uint32Array, mags: Uint32Array): number {
  let c = 0
  for (let i = start; i < end; i++) {
    const a = u[i] & 0x7fffffff
    if (a >= lo) {
      cand[c] = i
      mags[c++] = a
    }
  }
  return c
}

/**
 * Exact top-k among candidates cand[0 .. c) (ascending indices, c ≥ k) whose magnitude bits
 * (|v| as uint32) are mags[0 .. c): kept beside the indices because gathering them from a
 * 40 MB vector would miss cache on every read. Three radix levels (11 + 12 + 8 bits) fix the
 * bit pattern T of the k-th largest; one filter takes everything above T and the first
 * (lowest-index) ties at T. Output is ascending.
 */
export function selectAmong (mags: Uint32Array, cand: Uint32Array, c: number, k: number, out: Uint32Array, pos: number,
  scratch?: SelectScratch, carry?: Carry): number {
  if (c <= SMALL_SET) return selectSmall(mags, cand, c, k, out, pos, scratch, carry)
  let prefix = 0
  let mask = 0
  let needed = k
  for (let level = 0; level < LEVELS.length; level++) {
    const shift = LEVELS[level][0]
    const digit = (1 << LEVELS[level][1]) - 1
    const h = scratch?.hist[level] ?? new Uint32Array(digit + 1)
    digitHistogram(mags, c, mask, prefix, shift, digit, h)
    let d = digit
    let cum = 0
    for (; d > 0; d--) {
      if (cum + h[d] >= needed) break
      cum += h[d]
    }
    needed -= cum
    prefix |= d << shift
    mask |= digit << shift
  }
  return takeAbove(mags, cand, c, prefix, needed, out, pos, carry)
}

/** Per-candidate values to copy out beside the chosen indices (saves a random gather later). */
export interface Carry {
  readonly from: Float32Array
  readonly to: Float32Array
}

/** Below this many candidates a native sort beats clearing 6,400 histogram bins per chunk. */
const SMALL_SET = 512

/** selectAmong by sorting a copy of the magnitudes: T is the k-th largest. */
function selectSmall (mags: Uint32Array, cand: Uint32Array, c: number, k: number, out: Uint32Array, pos: number,
  scratch?: SelectScratch, carry?: Carry): number {
  const sorted = (scratch !== undefined && scratch.sorted.length >= c ? scratch.sorted.subarray(0, c) : new Uint32Array(c))
  sorted.set(mags.subarray(0, c))
  sorted.sort()
  const t = sorted[c - k]
  let i = c - k
  while (i < c && sorted[i] === t) i++
  // c − i elements lie above t; the rest of the k are ties at t
  return takeAbove(mags, cand, c, t, k - (c - i), out, pos, carry)
}

/** Histogram of the digit (a >>> shift) & digit over the candidates whose higher bits match. */
function digitHistogram (mags: Uint32Array, c: number, mask: number, prefix: number, shift: number, digit: number, h: Uint32Array): void {
  h.fill(0)
  for (let j = 0; j < c; j++) {
    const a = mags[j]
    if ((a & mask) === prefix) h[(a >>> shift) & digit]++
  }
}

/** Everything above t, then the first `ties` equal to t, in candidate (= index) order. */
function takeAbove (mags: Uint32Array, cand: Uint32Array, c: number, t: number, ties: number, out: Uint32Array, pos: number,
  carry?: Carry): number {
  if (carry !== undefined) return takeAboveCarry(mags, cand, c, t, ties, out, pos, carry.from, carry.to)
  for (let j = 0; j < c; j++) {
    const a = mags[j]
    if (a > t) out[pos++] = cand[j]
    else if (a === t && ties > 0) {
      out[pos++] = cand[j]
      ties--
    }
  }
  return pos
}

function takeAboveCarry (mags: Uint32Array, cand: Uint32Array, c: number, t: number, ties: number, out: Uint32Array, pos: number,
  from: Float32Array, to: Float32Array): number {
  for (let j = 0; j < c; j++) {
    const a = mags[j]
    if (a > t || (a === t && ties-- > 0)) {
      to[pos] = from[j]
      out[pos++] = cand[j]
    }
  }
  return pos
}

/** Radix levels over the 31 magnitude bits: [shift, width]. */
const LEVELS = [[L1_SHIFT, 11], [8, 12], [0, 8]] as const
