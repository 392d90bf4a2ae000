// The engine's settings: built from the run settings by toRoundConfig, validated by createRoundConfig(partial).
import { createOuterOptimizerOptions, validateFoldRule, parseFoldSpec, type FoldSpec, type OuterOptimizerOptions } from '../aggregate/index.js'
import { parseSpec } from '../compress/index.js'
import { createPrivacySettings, type PrivacySettings } from '../privacy/index.js'
import { RoundError, RoundErrorCode } from './errors.js'
import { RUN_DEFAULTS, UPDATE_MODES, roundTimings, type RunSettings, type UpdateMode } from './settings.js'

export { UPDATE_MODES, type UpdateMode } from './settings.js'

/** Defaults of every field: RUN_DEFAULTS in ./settings.ts, the one place they are written. */
export interface RoundConfig {
  runId: string
  /** H: local optimizer steps per round */
  innerSteps: number
  /** uplink codec spec, e.g. 'topk:0.01+q2' */
  codec: string
  /** downlink codec of the aggregate in 'aggregator' and 'hierarchical' modes */
  aggregateCodec: string
  mode: UpdateMode
  /** hierarchical mode: target members per group */
  groupSize: number
  /** hierarchical mode: codec of a group's fold sent to the root candidates */
  subAggregateCodec: string
  /** fold rule, e.g. mean, trimmed:0.1, krum:2 (aggregate/) */
  rule: FoldSpec
  /** update screen: refuse updates whose norm is over this multiple of the set's median norm (0 = off) */
  maxNormRatio: number
  /** outer optimizer: SGD with Nesterov momentum (tuned defaults in settings.ts); FedAvg is lr 1, momentum 0 */
  outer: OuterOptimizerOptions
  /** k backups after the aggregator (toRoundConfig clamps it to members − 1) */
  backups: number
  /** the aggregator's window to commit, from its round start */
  deadlineMs: number
  /** each backup's window after the previous deadline (unset: roundTimings) */
  backupStepMs: number
  /** after this long from round start, close with a quorum instead of waiting for all (unset: roundTimings) */
  collectMs: number
  /** fraction of the electorate that must be included when closing early */
  quorum: number
  /** add back what an excluded update sent to the error-feedback residual */
  restoreExcluded: boolean
  /**
   * node-side differential privacy: each node clips its pseudo-gradient to `clipNorm` and adds
   * Gaussian noise before compression and error feedback (protocols/privacy.md); null = off
   * @default null
   */
  privacy: PrivacySettings | null
}

/** Who runs: the run id (topic namespace) and how many founding members it has. */
export interface RunContext {
  runId: string
  /** founding members (round 0's electorate): backups are clamped to members − 1 */
  members: number
}

/** The run settings' fields as the engine names them; no defaults of its own. */
function roundFields (s: RunSettings): Omit<RoundConfig, 'runId'> {
  return {
    innerSteps: s.innerSteps,
    codec: s.codec,
    aggregateCodec: s.aggregateCodec,
    mode: s.mode,
    groupSize: s.groupSize,
    subAggregateCodec: s.subAggregateCodec,
    rule: parseFoldSpec(s.rule),
    maxNormRatio: s.maxNormRatio,
    outer: { lr: s.outerLr, momentum: s.outerMomentum, nesterov: s.outerMomentum > 0 },
    backups: s.backups,
    ...roundTimings(s),
    quorum: s.quorum,
    restoreExcluded: s.restoreExcluded,
    privacy: s.dpClipNorm > 0 ? { clipNorm: s.dpClipNorm, noiseMultiplier: s.dpNoiseMultiplier, delta: s.dpDelta, sampleRate: 1 } : null
  }
}

/** The engine defaults are the run settings' defaults (src/round/settings.ts), mapped. */
export const DEFAULT_ROUND_CONFIG: Readonly<Omit<RoundConfig, 'runId'>> = Object.freeze(roundFields(RUN_DEFAULTS))

/** The one mapping from (validated) run settings to the engine's config, for the daemon and the simulator alike. */
export function toRoundConfig (settings: RunSettings, run: RunContext): RoundConfig {
  const f = roundFields(settings)
  return createRoundConfig({ ...f, runId: run.runId, backups: Math.max(0, Math.min(f.backups, run.members - 1)) })
}

export function createRoundConfig (partial: Partial<RoundConfig> & { runId: string }): RoundConfig {
  const c: RoundConfig = { ...DEFAULT_ROUND_CONFIG, ...partial }
  // unset collect window and backup step follow the deadline given, by the settings' one rule
  Object.assign(c, roundTimings({ deadlineMs: c.deadlineMs, collectMs: partial.collectMs, backupStepMs: partial.backupStepMs }))
  const bad = (field: keyof RoundConfig, m: string): never => { throw new RoundError(RoundErrorCode.BadConfig, m, field) }
  if (typeof c.runId !== 'string' || c.runId === '') bad('runId', 'runId must be a non-empty string')
  if (!Number.isInteger(c.innerSteps) || c.innerSteps < 1) bad('innerSteps', `inner steps must be a positive integer, got ${c.innerSteps}`)
  if (!Number.isInteger(c.backups) || c.backups < 0) bad('backups', `backups must be a non-negative integer, got ${c.backups}`)
  for (const k of ['deadlineMs', 'backupStepMs', 'collectMs'] as const) {
    if (!(Number.isFinite(c[k]) && c[k] > 0)) bad(k, `${k} must be a positive duration, got ${c[k]}`)
  }
  if (c.collectMs > c.deadlineMs) bad('collectMs', `collectMs (${c.collectMs}) must not exceed deadlineMs (${c.deadlineMs})`)
  if (!(Number.isFinite(c.maxNormRatio) && c.maxNormRatio >= 0)) bad('maxNormRatio', `maxNormRatio must be finite and ≥ 0, got ${c.maxNormRatio}`)
  if (!(c.quorum > 0 && c.quorum <= 1)) bad('quorum', `quorum must be in (0, 1], got ${c.quorum}`)
  if (!UPDATE_MODES.includes(c.mode)) bad('mode', `unknown mode "${String(c.mode)}" (expected one of: ${UPDATE_MODES.join(', ')})`)
  if (!Number.isInteger(c.groupSize) || c.groupSize < 2) bad('groupSize', `group size must be an integer ≥ 2, got ${c.groupSize}`)
  for (const [field, what, spec] of [['codec', 'codec', c.codec], ['aggregateCodec', 'aggregate codec', c.aggregateCodec], ['subAggregateCodec', 'sub-aggregate codec', c.subAggregateCodec]] as const) {
    try { parseSpec(spec) } catch (err) { bad(field, `bad ${what} "${spec}": ${(err as Error).message}`) }
  }
  try { c.outer = createOuterOptimizerOptions(c.outer) } catch (err) { bad('outer', (err as Error).message) }
  try { validateFoldRule(c.rule.rule) } catch (err) { bad('rule', (err as Error).message) }
  if (c.privacy != null) { try { c.privacy = createPrivacySettings(c.privacy) } catch (err) { bad('privacy', (err as Error).message) } }
  return c
}
