// Settings of one simulated run: the run settings (src/round/settings.ts) plus the simulated world, validated in full before anything runs.
import { z } from 'zod'
import { parsePartition, validatePartition, type Partition } from '../data/index.js'
import { RunSettingsSchema, RUN_SETTING_KEYS, UPDATE_MODES, checkRunSettings, settingsIssue, valueFromText, type UpdateMode } from '../round/index.js'
import { parseTopology, type TopologySpec } from './topology.js'
import { checkFoldFeasible, foldWidth, parseFoldSpec } from '../aggregate/index.js'
import { SimError, SimErrorCode } from './errors.js'
import { ATTACK_KINDS, attackerCount, parseAttack } from './attack.js'

export type SimMode = UpdateMode
export const SIM_MODES: readonly SimMode[] = UPDATE_MODES

const partition = z.custom<Partition>(v => { try { validatePartition(v as Partition); return true } catch { return false } }, { message: 'iid, dirichlet:<alpha>, speaker, era or group:<name>' })
const topology = z.custom<TopologySpec>(v => typeof v === 'object' && v != null && typeof (v as { kind?: unknown }).kind === 'string', { message: 'a topology: full | ring | star[:hub] | regular:<d> | ...' })

/** The run settings every simulated node shares, plus what only the simulator has: nodes, the network, faults, evaluation. */
export const SimSettingsSchema = RunSettingsSchema.extend({
  nodes: z.number().int().min(1).max(1_000_000).default(16),
  rounds: z.number().int().min(1).max(100_000).default(20),
  /** keep each node's inner AdamW state across rounds (DiLoCo) instead of restarting it (tuned: see README) */
  keepInnerState: z.boolean().default(true),
  /** how the shipped dataset is split over the nodes: non-IID by default, the case the simulator is for */
  partition: partition.default({ kind: 'dirichlet', alpha: 0.5 }),
  topology: topology.default({ kind: 'full' }),
  link: z.object({
    latencyMs: z.number().min(0),
    bandwidthMBps: z.number().positive(),
    loss: z.number().min(0).lt(1)
  }).strict().default({ latencyMs: 20, bandwidthMBps: 12.5, loss: 0 }),
  /**
   * every node's downlink capacity, MB/s: its downloads then queue at its own end too (an access
   * link, as a member on the internet has); unset: downloads are limited by the sender and the path only
   */
  downlinkMBps: z.number().positive().optional(),
  /** virtual compute time of one local step on an average node */
  stepMs: z.number().min(0).default(20),
  /** log-normal sigma of per-node speed (stragglers); 0 = all equal */
  stragglerSigma: z.number().min(0).max(5).default(0.2),
  /** expected departures per node per virtual hour */
  leavePerHour: z.number().min(0).default(0),
  /** expected returns per departed node per virtual hour */
  joinPerHour: z.number().min(0).default(6),
  /** rounds whose elected aggregator crashes mid-round (and returns later) */
  crashRounds: z.array(z.number().int().min(0)).default([]),
  /** protocol-only: synthetic updates of this many parameters, no training */
  synthetic: z.boolean().default(false),
  syntheticParams: z.number().int().min(1).max(1e9).default(10_000),
  /** run the synchronous data-parallel and local-only baselines */
  baselines: z.boolean().default(true),
  /** evaluate the global model every this many rounds (and the last) */
  evalEvery: z.number().int().min(1).max(1e6).default(1),
  /** what the Byzantine members do (src/sim/attack.ts), one kind per attacker in turn; empty: everyone is honest */
  attack: z.array(z.enum(ATTACK_KINDS)).default([]),
  /** the fraction of members that attack, rounded to whole nodes (only read with an attack) */
  attackFraction: z.number().min(0).max(0.5).default(0.2)
}).strict()
  .superRefine(checkRunSettings)
  .superRefine((c, ctx) => {
    // everything that would only fail mid-run is refused here
    const bad = (path: string, message: string): void => { ctx.addIssue({ code: 'custom', path: [path], message }) }
    // backups ≥ nodes is clamped to nodes − 1 by toRoundConfig, as in the daemon: `--nodes 2` runs
    for (const r of c.crashRounds) if (r >= c.rounds) bad('crashRounds', `crash round ${r} is beyond the last round (${c.rounds - 1})`)
    if (c.mode === 'gossip' && c.nodes > 2000 && !c.synthetic) bad('mode', 'gossip mode with training is limited to 2,000 nodes (every node folds every update)')
    if (new Set(c.attack).size !== c.attack.length) bad('attack', 'lists a kind twice')
    const attackers = attackerCount(c.nodes, c.attackFraction)
    if (c.attack.length > 0 && attackers < c.attack.length) {
      bad(c.attackFraction === 0 || attackers === 0 ? 'attackFraction' : 'attack',
        `${c.attack.length} attack kind${c.attack.length > 1 ? 's need' : ' needs'} at least as many attackers; ${c.attackFraction} × ${c.nodes} nodes makes ${attackers}`)
    }
  })

export type SimConfig = z.output<typeof SimSettingsSchema>

/** Every default: the run settings' and the simulator's own, read from the schema. */
export const DEFAULT_SIM_CONFIG: Readonly<SimConfig> = Object.freeze(SimSettingsSchema.parse({}))

/** Flag spellings that are not the field's name in kebab case. */
const ALIASES: Partial<Record<string, keyof SimConfig>> = {
  stragglers: 'stragglerSigma',
  'leave-rate': 'leavePerHour',
  'join-rate': 'joinPerHour'
}
const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
const SCALAR_KEYS = new Set<string>([...RUN_SETTING_KEYS, 'nodes', 'rounds', 'keepInnerState', 'stepMs', 'stragglerSigma', 'leavePerHour', 'joinPerHour', 'synthetic', 'syntheticParams', 'baselines', 'evalEvery', 'attackFraction'])

/** Settings as text (flags, config files, --compare values) → typed values, each checked by its schema field. */
export function applySetting (c: SimConfig, key: string, raw: string): SimConfig {
  const fail = (message: string, field: string): never => { throw new SimError(SimErrorCode.CONFIG, `${key}: ${message}`, { field }) }
  const field: string = ALIASES[key] ?? camel(key)
  if (SCALAR_KEYS.has(field)) {
    const f = field as keyof typeof SimSettingsSchema.shape
    const sample = f === 'collectMs' || f === 'backupStepMs' ? 0 : DEFAULT_SIM_CONFIG[f]
    const r = SimSettingsSchema.shape[f].safeParse(valueFromText(sample, raw))
    if (!r.success) fail(`${settingsIssue(r.error).message} (got "${raw}")`, field)
    return { ...c, [f]: r.data }
  }
  const num = (k: keyof SimConfig['link']): number => {
    const r = SimSettingsSchema.shape.link.unwrap().shape[k].safeParse(valueFromText(0, raw))
    return r.success ? r.data : fail(`${settingsIssue(r.error).message} (got "${raw}")`, `link.${k}`)
  }
  switch (field) {
    case 'partition': return { ...c, partition: parsePartition(raw) }
    case 'topology': return { ...c, topology: parseTopology(raw) }
    case 'attack': return { ...c, attack: parseAttack(raw) }
    case 'latency': case 'latencyMs': return { ...c, link: { ...c.link, latencyMs: num('latencyMs') } }
    case 'bandwidth': case 'bandwidthMBps': return { ...c, link: { ...c.link, bandwidthMBps: num('bandwidthMBps') } }
    case 'loss': return { ...c, link: { ...c.link, loss: num('loss') } }
    case 'downlink': case 'downlinkMBps': {
      const r = SimSettingsSchema.shape.downlinkMBps.safeParse(valueFromText(0, raw))
      return r.success ? { ...c, downlinkMBps: r.data } : fail(`${settingsIssue(r.error).message} (got "${raw}")`, 'downlinkMBps')
    }
    case 'outer':
      // presets of the two outer-optimizer fields; nesterov keeps them as set
      if (raw === 'fedavg') return { ...c, outerLr: 1, outerMomentum: 0 }
      if (raw !== 'nesterov') fail(`unknown outer optimizer "${raw}" (nesterov|fedavg)`, 'outer')
      return c
    case 'crashRounds':
      return {
        ...c,
        crashRounds: raw.trim() === ''
          ? []
          : raw.split(/[;,\s]+/).map(s => {
            const n = Number(s)
            return Number.isInteger(n) && n >= 0 ? n : fail(`must list round numbers, got "${s}"`, 'crashRounds')
          })
      }
    default: return fail('unknown setting', key)
  }
}

/** Checks a whole configuration (field domains and cross-field rules); returns it with unset fields defaulted. */
export function validateSimConfig (c: SimConfig): SimConfig {
  const r = SimSettingsSchema.safeParse(c)
  if (!r.success) {
    const { field, message } = settingsIssue(r.error, Object.keys(SimSettingsSchema.shape))
    throw new SimError(SimErrorCode.CONFIG, `${field}: ${message}`, { field })
  }
  // the widest fold of the run bounds every rule: one that needs more inputs can never run
  const infeasible = checkFoldFeasible(parseFoldSpec(r.data.rule), foldWidth(r.data.nodes, r.data.mode === 'hierarchical' ? r.data.groupSize : undefined))
  if (infeasible != null) throw infeasible
  return r.data
}

/** A setting's key as a simulator flag (kebab case). */
export function simFlag (key: string): string {
  return key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
}
