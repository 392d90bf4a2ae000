// Stated error bounds of the lossy codecs, in one table that the tests assert and
// protocols/compression.md repeats. Change a bound only with the measurement that moved it.
import type { ValueCodecId } from './spec.js'

/**
 * Relative L2 error ||decode(encode(x)) − x|| / ||x|| for dense specs (default block 256,
 * round=near, no error feedback) on x ~ N(0, 1)^n, n ≥ 10^5. Measured (Node 24, 4 seeds)
 * about 10% below each bound. Heavy-tailed inputs do worse: see the per-block guarantees.
 */
export const DENSE_REL_L2: Readonly<Record<ValueCodecId, number>> = {
  fp32: 0,
  fp16: 3e-4,
  int8: 0.008,
  q8: 0.008,
  q4: 0.12,
  q2: 0.36,
  q1: 0.62
}

/**
 * For top-k specs the selection is lossless by definition (it sends the chosen elements);
 * this is the value stage's relative L2 error on the kept elements,
 * ||sent[S] − x[S]|| / ||x[S]|| with S = topk(x), for topk:0.01+<codec> on N(0, 1)^n.
 */
export const TOPK_VALUES_REL_L2: Readonly<Record<ValueCodecId, number>> = {
  fp32: 0,
  fp16: 3e-4,
  int8: 0.004,
  q8: 0.0015,
  q4: 0.022,
  q2: 0.065,
  q1: 0.11
}

/**
 * Whole-vector relative L2 error of topk:f+<any codec above> on N(0, 1)^n, single shot: the
 * unsent tail dominates (top 1% of a Gaussian holds 8.4% of its energy: sqrt(1 − 0.084) =
 * 0.957). Error feedback is what makes top-k usable: over rounds the sums track, see tests.
 */
export const TOPK_TOTAL_REL_L2: Readonly<Record<string, number>> = {
  0.01: 0.96,
  0.03: 0.90
}

/*
 * Per-block guarantees that hold for any finite input (tests check them on heavy tails):
 * - fp16: |x' − x| ≤ 2^−11·|x| for 2^−14 ≤ |x| ≤ 65504; larger |x| saturate to ±65504.
 * - int8: |x' − x| ≤ s/2·(1 + 2^−20) with s = float32(absmax/127) per block.
 * - q*, round=near: squared error of a block ≤ that of the uniform grid on [min|x|, max|x|]
 *   with 2^(b−1) levels (the fit only ever lowers it), up to float32 rounding of lo/step;
 *   q1: exactly Σ(|x| − mean|x|)² up to that rounding.
 */
