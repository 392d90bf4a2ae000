// Settings of the round protocol, built and validated by createRoundConfig(partial).
import { createOuterOptimizerOptions, validateFoldRule, DILOCO_OUTER, type FoldSpec, type OuterOptimizerOptions } from '../aggregate/index.js'
import { parseSpec } from '../compress/index.js'
import { RoundError, RoundErrorCode } from './errors.js'

/**
 * How updates travel:
 * - 'aggregator': updates go to the elected aggregator (and its backups, who must be able to
 *   take over); members download one compressed aggregate — O(U) per node.
 * - 'gossip': every member fetches every update and folds it itself — O(N·U) per node, but
 *   everyone verifies the commit fully.
 * - 'hierarchical': the electorate is split into groups of `groupSize`; each group's elected
 *   sub-aggregator folds its group's updates, the root aggregator folds the group folds. Uplink
 *   O(U) per member, O(groupSize·U) per sub-aggregator, O(groups·U) per root candidate.
 */
export type UpdateMode = 'aggregator' | 'gossip' | 'hierarchical'
export const UPDATE_MODES: readonly UpdateMode[] = ['aggregator', 'gossip', 'hierarchical']

export interface RoundConfig {
  runId: string
  /** H: local optimizer steps per round */
  innerSteps: number
  /** uplink codec spec, e.g. 'topk:0.01+q2' */
  codec: string
  /** downlink codec of the aggregate in 'aggregator' and 'hierarchical' modes */
  aggregateCodec: string
  mode: UpdateMode
  /** hierarchical mode: target members per group @default 16 */
  groupSize: number
  /** hierarchical mode: codec of a group's fold sent to the root candidates @default 'int8' */
  subAggregateCodec: string
  /** fold rule, e.g. mean, trimmed:0.1, krum:2 (aggregate/) */
  rule: FoldSpec
  /** outer optimizer: DiLoCo's Nesterov SGD by default; FedAvg is lr 1, momentum 0 */
  outer: OuterOptimizerOptions
  /** k backups after the aggregator (clamped to members − 1) @default 2 */
  backups: number
  /** the aggregator's window to commit, from its round start @default 60_000 */
  deadlineMs: number
  /** each backup's window after the previous deadline @default deadlineMs / 2 */
  backupStepMs: number
  /** after this long from round start, close with a quorum instead of waiting for all @default deadlineMs / 2 */
  collectMs: number
  /** fraction of the electorate that must be included when closing early @default 0.5 */
  quorum: number
  /** add back what an excluded update sent to the error-feedback residual @default true */
  restoreExcluded: boolean
}

export const DEFAULT_ROUND_CONFIG: Omit<RoundConfig, 'runId'> = {
  innerSteps: 50,
  codec: 'topk:0.01+q4',
  aggregateCodec: 'int8',
  mode: 'gossip',
  groupSize: 16,
  subAggregateCodec: 'int8',
  rule: { rule: { kind: 'mean' } },
  outer: DILOCO_OUTER,
  backups: 2,
  deadlineMs: 60_000,
  backupStepMs: 30_000,
  collectMs: 30_000,
  quorum: 0.5,
  restoreExcluded: true
}

export function createRoundConfig (partial: Partial<RoundConfig> & { runId: string }): RoundConfig {
  const c: RoundConfig = { ...DEFAULT_ROUND_CONFIG, ...partial }
  if (partial.deadlineMs != null) {
    c.backupStepMs = partial.backupStepMs ?? partial.deadlineMs / 2
    c.collectMs = partial.collectMs ?? partial.deadlineMs / 2
  }
  const bad = (m: string): never => { throw new RoundError(RoundErrorCode.BadConfig, m) }
  if (typeof c.runId !== 'string' || c.runId === '') bad('runId must be a non-empty string')
  if (!Number.isInteger(c.innerSteps) || c.innerSteps < 1) bad(`inner steps must be a positive integer, got ${c.innerSteps}`)
  if (!Number.isInteger(c.backups) || c.backups < 0) bad(`backups must be a non-negative integer, got ${c.backups}`)
  for (const k of ['deadlineMs', 'backupStepMs', 'collectMs'] as const) {
    if (!(Number.isFinite(c[k]) && c[k] > 0)) bad(`${k} must be a positive duration, got ${c[k]}`)
  }
  if (c.collectMs > c.deadlineMs) bad(`collectMs (${c.collectMs}) must not exceed deadlineMs (${c.deadlineMs})`)
  if (!(c.quorum > 0 && c.quorum <= 1)) bad(`quorum must be in (0, 1], got ${c.quorum}`)
  if (!UPDATE_MODES.includes(c.mode)) bad(`unknown mode "${String(c.mode)}" (expected one of: ${UPDATE_MODES.join(', ')})`)
  if (!Number.isInteger(c.groupSize) || c.groupSize < 2) bad(`group size must be an integer ≥ 2, got ${c.groupSize}`)
  for (const [what, spec] of [['codec', c.codec], ['aggregate codec', c.aggregateCodec], ['sub-aggregate codec', c.subAggregateCodec]] as const) {
    try { parseSpec(spec) } catch (err) { bad(`bad ${what} "${spec}": ${(err as Error).message}`) }
  }
  try {
    c.outer = createOuterOptimizerOptions(c.outer)
    validateFoldRule(c.rule.rule)
  } catch (err) { bad((err as Error).message) }
  return c
}
