// The privacy settings of a run, written once with their defaults: what a node applies to
// its own update each round and the δ at which its ε is reported.
import { PrivacyError, PrivacyErrorCode, requireSetting } from './errors.js'
import { validateMechanism } from './mechanism.js'

export interface PrivacySettings {
  /** L2 bound C on one round's update */
  readonly clipNorm: number
  /** σ: noise std per coordinate is σ·C */
  readonly noiseMultiplier: number
  /**
   * δ at which ε is reported.
   * @default 1e-5
   */
  readonly delta: number
  /**
   * q: probability that a given node's release includes a given record. 1 unless the node
   * Poisson-samples its data each round; a claim about sampling, so never set it higher than
   * what the trainer does.
   * @default 1
   */
  readonly sampleRate: number
}

export const DEFAULT_DELTA = 1e-5

/** Fills the defaults and refuses anything out of range (at configuration, not mid-round). */
export function createPrivacySettings (partial: Pick<PrivacySettings, 'clipNorm' | 'noiseMultiplier'> & Partial<PrivacySettings>): PrivacySettings {
  const settings: PrivacySettings = {
    clipNorm: partial.clipNorm,
    noiseMultiplier: partial.noiseMultiplier,
    delta: partial.delta ?? DEFAULT_DELTA,
    sampleRate: partial.sampleRate ?? 1
  }
  validateMechanism(settings)
  if (!(settings.delta > 0 && settings.delta < 1)) throw new PrivacyError(PrivacyErrorCode.BAD_DELTA, `delta must be in (0, 1), got ${settings.delta}`, { delta: settings.delta })
  requireSetting(settings.sampleRate > 0 && settings.sampleRate <= 1, 'sampleRate', settings.sampleRate, 'in (0, 1]')
  return settings
}
