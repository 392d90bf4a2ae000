// The node-side Gaussian mechanism: clip a node's whole-round update to a fixed L2 norm and
// add Gaussian noise scaled to that norm, so one release has sensitivity clipNorm.
//
// Order matters. Apply this to the pseudo-gradient Δ BEFORE the codec and its error feedback:
//   noised = clipAndNoise(Δ);  v = noised + residual;  sent = codec(v);  residual = v − sent
// The residual must be computed from the noised vector. If error feedback ran on the raw Δ
// (or the residual were taken from Δ), whatever top-k or quantisation dropped this round
// would be re-sent in a later round without noise, and the unnoised part of the update
// would leave the node after all. Done in this order, everything that leaves is a function
// of noised releases only (post-processing), and the accountant's ε covers it. Clipping
// before the codec also keeps the norm bound about the real update, not a lossy copy of it.
import { PrivacyError, PrivacyErrorCode, requireSetting } from './errors.js'
import type { Rng } from '../tensor/rng.js'

export interface GaussianMechanismOptions {
  /** L2 bound C on the update, > 0: the sensitivity of one release */
  readonly clipNorm: number
  /** σ ≥ 0: the noise std per coordinate is σ·C; 0 clips without noise (and buys no privacy) */
  readonly noiseMultiplier: number
}

export interface NoisedUpdate {
  /** the clipped update plus noise, a new array (the input is not touched) */
  readonly noised: Float32Array
  /** the L2 norm of the input before clipping, in float64 (for metrics and for tuning C) */
  readonly norm: number
  /** true when the input's norm exceeded clipNorm and it was scaled down */
  readonly clipped: boolean
}

/** Refuses settings that would release an unbounded or undefined update. */
export function validateMechanism (options: GaussianMechanismOptions): GaussianMechanismOptions {
  requireSetting(options.clipNorm > 0 && options.clipNorm < Infinity, 'clipNorm', options.clipNorm, 'finite and > 0')
  requireSetting(options.noiseMultiplier >= 0 && options.noiseMultiplier < Infinity, 'noiseMultiplier', options.noiseMultiplier, 'finite and ≥ 0')
  return options
}

/**
 * Scales `update` to L2 norm ≤ clipNorm, then adds N(0, (noiseMultiplier·clipNorm)²) to every
 * coordinate, drawing one `rng.normal()` per coordinate in index order (so a seed reproduces
 * the output exactly). Clip and noise are computed in float64 and rounded to float32 once.
 */
export function clipAndNoise (update: Float32Array, options: GaussianMechanismOptions, rng: Rng): NoisedUpdate {
  validateMechanism(options)
  let sum = 0
  for (let j = 0; j < update.length; j++) {
    const v = update[j]
    if (!Number.isFinite(v)) throw new PrivacyError(PrivacyErrorCode.NON_FINITE, `update[${j}] is ${v}`, { index: j })
    sum += v * v
  }
  const norm = Math.sqrt(sum)
  const clipped = norm > options.clipNorm
  const scale = clipped ? options.clipNorm / norm : 1
  const std = options.noiseMultiplier * options.clipNorm
  const noised = new Float32Array(update.length)
  for (let j = 0; j < update.length; j++) noised[j] = update[j] * scale + (std === 0 ? 0 : std * rng.normal())
  return { noised, norm, clipped }
}
