// Settings of one simulated run, validated in full before anything runs.
import { parsePartition, type Partition } from '../data/index.js'
import { checkFoldFeasible, foldWidth, parseFoldSpec, type FoldSpec } from '../aggregate/index.js'
import { parseSpec } from '../compress/index.js'
import { parseTopology, type TopologySpec, type LinkSpec } from './topology.js'
import { SimError, SimErrorCode } from './errors.js'

export type SimMode = 'aggregator' | 'gossip' | 'hierarchical'
export const SIM_MODES: readonly SimMode[] = ['aggregator', 'gossip', 'hierarchical']

export interface SimConfig {
  nodes: number
  rounds: number
  /** H: local steps per round */
  innerSteps: number
  /** per-node batch size */
  batch: number
  innerLr: number
  /** keep each node's inner AdamW state across rounds (DiLoCo) instead of restarting it */
  keepInnerState: boolean
  model: 'mlp'
  data: 'mnist'
  partition: Partition
  /** uplink codec spec */
  codec: string
  /** downlink codec of the aggregate (aggregator and hierarchical modes) */
  aggregateCodec: string
  mode: SimMode
  /** hierarchical mode: members per group */
  groupSize: number
  /** hierarchical mode: codec of a group fold sent to the root candidates */
  subAggregateCodec: string
  rule: FoldSpec
  outerLr: number
  outerMomentum: number
  topology: TopologySpec
  link: LinkSpec
  /** virtual compute time of one local step on an average node */
  stepMs: number
  /** log-normal sigma of per-node speed (stragglers); 0 = all equal */
  stragglerSigma: number
  /** expected departures per node per virtual hour */
  leavePerHour: number
  /** expected returns per departed node per virtual hour */
  joinPerHour: number
  /** rounds whose elected aggregator crashes mid-round (and returns later) */
  crashRounds: number[]
  backups: number
  deadlineMs: number
  collectMs: number
  quorum: number
  seed: number
  /** protocol-only: synthetic updates of this many parameters, no training */
  synthetic: boolean
  syntheticParams: number
  /** run the synchronous data-parallel and local-only baselines */
  baselines: boolean
  /** evaluate the global model every this many rounds (and the last) */
  evalEvery: number
}

export const DEFAULT_SIM_CONFIG: SimConfig = {
  nodes: 16,
  rounds: 20,
  innerSteps: 50,
  batch: 32,
  innerLr: 1e-3,
  keepInnerState: true,
  model: 'mlp',
  data: 'mnist',
  partition: { kind: 'dirichlet', alpha: 0.5 },
  codec: 'topk:0.01+q4',
  aggregateCodec: 'int8',
  mode: 'gossip',
  groupSize: 16,
  subAggregateCodec: 'int8',
  rule: { rule: { kind: 'mean' } },
  // tuned in the simulator for top-k + error feedback (see README): DiLoCo's 0.7/0.9 oscillates
  outerLr: 1,
  outerMomentum: 0.6,
  topology: { kind: 'full' },
  link: { latencyMs: 20, bandwidthMBps: 12.5, loss: 0 },
  stepMs: 20,
  stragglerSigma: 0.2,
  leavePerHour: 0,
  joinPerHour: 6,
  crashRounds: [],
  backups: 2,
  deadlineMs: 60_000,
  collectMs: 30_000,
  quorum: 0.75,
  seed: 1,
  synthetic: false,
  syntheticParams: 10_000,
  baselines: true,
  evalEvery: 1
}

/** Settings as text (flags, config files, --compare values) → typed values. */
export function applySetting (c: SimConfig, key: string, raw: string): SimConfig {
  const num = (min: number, max = Infinity, integer = false): number => {
    const n = Number(raw)
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new SimError(SimErrorCode.CONFIG, `${key} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${raw}"`)
    }
    return n
  }
  const next = { ...c }
  switch (key) {
    case 'nodes': next.nodes = num(1, 1_000_000, true); break
    case 'rounds': next.rounds = num(1, 100_000, true); break
    case 'inner-steps': case 'innerSteps': next.innerSteps = num(1, 100_000, true); break
    case 'batch': next.batch = num(1, 65_536, true); break
    case 'inner-lr': case 'innerLr': next.innerLr = num(0); break
    case 'keep-inner-state': case 'keepInnerState': next.keepInnerState = raw === 'true' || raw === '1'; break
    case 'partition': next.partition = parsePartition(raw); break
    case 'codec': parseSpec(raw); next.codec = raw; break
    case 'aggregate-codec': case 'aggregateCodec': parseSpec(raw); next.aggregateCodec = raw; break
    case 'mode':
      if (!(SIM_MODES as readonly string[]).includes(raw)) throw new SimError(SimErrorCode.CONFIG, `unknown mode "${raw}" (expected one of: ${SIM_MODES.join(', ')})`)
      next.mode = raw as SimMode; break
    case 'group-size': case 'groupSize': next.groupSize = num(2, 1_000_000, true); break
    case 'sub-aggregate-codec': case 'subAggregateCodec': parseSpec(raw); next.subAggregateCodec = raw; break
    case 'rule': next.rule = parseFoldSpec(raw); break
    case 'outer-lr': case 'outerLr': next.outerLr = num(0); break
    case 'outer-momentum': case 'outerMomentum': next.outerMomentum = num(0, 0.999999); break
    case 'outer':
      if (raw === 'fedavg') { next.outerLr = 1; next.outerMomentum = 0 } else if (raw !== 'nesterov') throw new SimError(SimErrorCode.CONFIG, `unknown outer optimizer "${raw}" (nesterov|fedavg)`)
      break
    case 'topology': next.topology = parseTopology(raw); break
    case 'latency': case 'latencyMs': next.link = { ...next.link, latencyMs: num(0) }; break
    case 'bandwidth': case 'bandwidthMBps': next.link = { ...next.link, bandwidthMBps: num(Number.MIN_VALUE) }; break
    case 'loss': next.link = { ...next.link, loss: num(0, 0.999) }; break
    case 'step-ms': case 'stepMs': next.stepMs = num(0); break
    case 'stragglers': case 'stragglerSigma': next.stragglerSigma = num(0, 5); break
    case 'leave-rate': case 'leavePerHour': next.leavePerHour = num(0); break
    case 'join-rate': case 'joinPerHour': next.joinPerHour = num(0); break
    case 'crash-rounds': case 'crashRounds':
      next.crashRounds = raw.trim() === ''
        ? []
        : raw.split(/[;,\s]+/).map(s => {
          const n = Number(s)
          if (!Number.isInteger(n) || n < 0) throw new SimError(SimErrorCode.CONFIG, `crash-rounds must list round numbers, got "${s}"`)
          return n
        })
      break
    case 'backups': next.backups = num(0, 1000, true); break
    case 'deadline-ms': case 'deadlineMs': next.deadlineMs = num(1); break
    case 'collect-ms': case 'collectMs': next.collectMs = num(1); break
    case 'quorum': next.quorum = num(Number.MIN_VALUE, 1); break
    case 'seed': next.seed = num(0, 2 ** 32 - 1, true); break
    case 'synthetic': next.synthetic = raw === 'true' || raw === '1'; break
    case 'synthetic-params': case 'syntheticParams': next.syntheticParams = num(1, 1e9, true); break
    case 'baselines': next.baselines = raw === 'true' || raw === '1'; break
    case 'eval-every': case 'evalEvery': next.evalEvery = num(1, 1e6, true); break
    case 'model': if (raw !== 'mlp') throw new SimError(SimErrorCode.CONFIG, `unknown model "${raw}" (expected: mlp)`); break
    case 'data': if (raw !== 'mnist') throw new SimError(SimErrorCode.CONFIG, `unknown data "${raw}" (expected: mnist)`); break
    default: throw new SimError(SimErrorCode.CONFIG, `unknown setting "${key}"`)
  }
  return next
}

/** Cross-field checks: everything that would only fail mid-run is refused here. */
export function validateSimConfig (c: SimConfig): SimConfig {
  const bad = (m: string): never => { throw new SimError(SimErrorCode.CONFIG, m) }
  if (c.backups >= c.nodes) bad(`backups (k = ${c.backups}) must be smaller than the number of nodes (${c.nodes})`)
  if (c.collectMs > c.deadlineMs) bad(`collect-ms (${c.collectMs}) must not exceed deadline-ms (${c.deadlineMs})`)
  for (const r of c.crashRounds) if (r >= c.rounds) bad(`crash round ${r} is beyond the last round (${c.rounds - 1})`)
  if (c.leavePerHour < 0 || c.joinPerHour < 0) bad('churn rates must be ≥ 0')
  if (c.link.latencyMs < 0 || !(c.link.bandwidthMBps > 0) || c.link.loss < 0 || c.link.loss >= 1) bad('bad link settings')
  if (c.mode === 'gossip' && c.nodes > 2000 && !c.synthetic) bad('gossip mode with training is limited to 2,000 nodes (every node folds every update)')
  // a rule that needs more updates than any fold of the run can have (ERR_AGG_RULE_INFEASIBLE)
  const infeasible = checkFoldFeasible(c.rule, foldWidth(c.nodes, c.mode === 'hierarchical' ? c.groupSize : undefined))
  if (infeasible != null) throw infeasible
  return c
}
