// `tapestry sim`: run the round protocol in the simulator, compare settings, write JSON and plots.
import type { Command } from 'commander'
import { loadOnnxModelFile, onnxRef } from '../../train/index.js'
import { readFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_SIM_CONFIG, applySetting, validateSimConfig, simFlag, type SimConfig } from '../../sim/config.js'
import { parseEdgeList, formatTopology } from '../../sim/topology.js'
import { ATTACK_KINDS, formatAttack } from '../../sim/attack.js'
import { formatPartition } from '../../data/index.js'
import { RUN_SETTING_KEYS } from '../../round/index.js'
import { helpWithDefault, runSettingHelp } from '../parse.js'
import { parseComparison, runExperiment, type ExperimentReport, type RunReport } from '../../sim/experiment.js'
import { parseDeviceRequest } from '../../train/index.js'
import { UsageError } from '../errors.js'
import type { Series } from '../plot.js'

const SIM = DEFAULT_SIM_CONFIG

/**
 * flag name → setting key understood by applySetting, and its help. The run settings' flags come
 * from the schema (src/round/settings.ts: description and default); the simulator's own
 * defaults from DEFAULT_SIM_CONFIG, so no default is written here.
 */
const FLAG_SETTINGS: Array<[flag: string, key: string, help: string]> = [
  ['nodes', 'nodes', helpWithDefault('number of simulated nodes', SIM.nodes)],
  ['rounds', 'rounds', helpWithDefault('outer rounds', SIM.rounds)],
  ...RUN_SETTING_KEYS.map(k => [simFlag(k), simFlag(k), runSettingHelp(k)] as [string, string, string]),
  ['keep-inner-state', 'keep-inner-state', helpWithDefault('true: keep each node\'s AdamW state across rounds; false: restart it', SIM.keepInnerState)],
  ['partition', 'partition', helpWithDefault('iid | dirichlet:<alpha> (labels) | speaker | era (text: whole groups of documents)', formatPartition(SIM.partition))],
  ['outer', 'outer', 'outer optimizer preset: nesterov (keeps --outer-lr/--outer-momentum) | fedavg (lr 1, momentum 0)'],
  ['topology', 'topology', helpWithDefault('full | ring | star[:hub] | regular:<d> | smallworld:<d>:<p> | regions:<r>:<ms> | edges:<file>', formatTopology(SIM.topology))],
  ['latency', 'latency', helpWithDefault('per-link one-way latency (ms)', SIM.link.latencyMs)],
  ['bandwidth', 'bandwidth', helpWithDefault('per-link bandwidth (MB/s)', SIM.link.bandwidthMBps)],
  ['loss', 'loss', helpWithDefault('per-link packet loss probability', SIM.link.loss)],
  ['downlink', 'downlink', "every node's downlink capacity (MB/s); unset: downloads queue only at the sender"],
  ['step-ms', 'step-ms', helpWithDefault('virtual compute time of one local step (ms)', SIM.stepMs)],
  ['stragglers', 'stragglers', helpWithDefault('log-normal sigma of node speed', SIM.stragglerSigma)],
  ['leave-rate', 'leave-rate', helpWithDefault('departures per node per virtual hour', SIM.leavePerHour)],
  ['join-rate', 'join-rate', helpWithDefault('returns per departed node per virtual hour', SIM.joinPerHour)],
  ['crash-rounds', 'crash-rounds', 'rounds whose elected aggregator crashes, e.g. 3,7'],
  ['synthetic-params', 'synthetic-params', helpWithDefault('protocol-only: parameters of synthetic updates', SIM.syntheticParams)],
  ['eval-every', 'eval-every', helpWithDefault('evaluate every n rounds', SIM.evalEvery)],
  ['attack', 'attack', helpWithDefault(`what Byzantine members do, one kind per attacker in turn: none | all | ${ATTACK_KINDS.join(' | ')}, joined by +`, formatAttack(SIM.attack))],
  ['attack-fraction', 'attack-fraction', helpWithDefault('fraction of members that attack (rounded to whole nodes)', SIM.attackFraction)]
]

export interface SimCliOptions {
  config: SimConfig
  compare?: string
  out?: string
  json: boolean
  device: 'auto' | 'cuda' | 'cpu'
  threads?: number
  quiet: boolean
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())

/** Reads an `edges:<file>` topology into an explicit edge list (the simulator does no I/O). */
async function resolveTopology (cfg: SimConfig, raw: string): Promise<SimConfig> {
  if (!raw.startsWith('edges:')) return applySetting(cfg, 'topology', raw)
  const file = raw.slice('edges:'.length)
  let text: string
  try { text = await readFile(file, 'utf8') } catch (err) { throw new UsageError(`cannot read edge list ${file}: ${(err as Error).message}`) }
  return { ...cfg, topology: { kind: 'edges', edges: parseEdgeList(text) } }
}

/** Config file (JSON, same keys as the flags) first, then flags on top; all validated up front. */
export async function parseSimOptions (raw: Record<string, unknown>): Promise<SimCliOptions> {
  let cfg: SimConfig = { ...DEFAULT_SIM_CONFIG }
  // a node's own ONNX model: loaded (and checked) now, then named by its file's hash like in a manifest
  if (typeof raw.model === 'string' && raw.model.endsWith('.onnx')) raw = { ...raw, model: onnxRef((await loadOnnxModelFile(raw.model)).spec) }
  if (typeof raw.config === 'string') {
    let obj: unknown
    try { obj = JSON.parse(await readFile(raw.config, 'utf8')) } catch (err) { throw new UsageError(`bad config file ${raw.config}: ${(err as Error).message}`) }
    if (obj == null || typeof obj !== 'object' || Array.isArray(obj)) throw new UsageError(`config file ${raw.config} must hold a JSON object`)
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      const value = Array.isArray(v) ? v.join(',') : String(v)
      cfg = k === 'topology' ? await resolveTopology(cfg, value) : applySetting(cfg, k, value)
    }
  }
  for (const [flag, key] of FLAG_SETTINGS) {
    const v = raw[camel(flag)]
    if (v === undefined) continue
    cfg = key === 'topology' ? await resolveTopology(cfg, String(v)) : applySetting(cfg, key, String(v))
  }
  if (raw.synthetic === true) cfg = { ...cfg, synthetic: true, baselines: false }
  if (raw.baselines === false) cfg = { ...cfg, baselines: false }
  validateSimConfig(cfg)
  if (typeof raw.compare === 'string') parseComparison(cfg, raw.compare)
  return {
    config: cfg,
    compare: raw.compare as string | undefined,
    out: raw.out as string | undefined,
    json: raw.json === true,
    device: parseDeviceRequest(String(raw.device ?? 'auto')),
    threads: raw.threads == null ? undefined : Number(raw.threads),
    quiet: raw.quiet === true
  }
}

export function registerSim (program: Command): void {
  const cmd = program.command('sim')
    .description('simulate the round protocol over a chosen topology and compare it with the synchronous and local baselines')
    .option('--config <file>', 'JSON file of settings (keys as the flags); flags override it')
  for (const [flag, , help] of FLAG_SETTINGS) cmd.option(`--${flag} <${placeholderOf(flag, help)}>`, help)
  cmd.option('--synthetic', 'protocol-only: synthetic updates, no training', false)
    .option('--no-baselines', 'skip the synchronous and local-only baselines')
    .option('--compare <setting=v1,v2>', 'run once per value of one setting, e.g. codec=topk:0.01+q2,topk:0.03+q2')
    .option('--out <dir>', 'write per-round JSON and SVG/PNG plots here')
    .option('--device <d>', 'auto|cuda|cpu', 'auto')
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option('--quiet', 'no progress lines on stderr', false)
    .option('--json', 'print one JSON object on stdout', false)
    .action(async (raw: Record<string, unknown>) => { await sim(await parseSimOptions(raw)) })
}

function summary (r: RunReport): Record<string, unknown> {
  return {
    label: r.label,
    final: r.final,
    baselines: r.baselines == null
      ? undefined
      : {
          ddp: { loss: r.baselines.ddp.loss, accuracy: r.baselines.ddp.accuracy, heldOutBitsPerByte: r.baselines.ddp.heldOutBitsPerByte, bytes: r.baselines.ddp.bytes },
          local: { loss: r.baselines.local.loss, accuracy: r.baselines.local.accuracy, heldOutBitsPerByte: r.baselines.local.heldOutBitsPerByte, bytes: r.baselines.local.bytes }
        },
    bytesTotal: r.bytesTotal,
    bytesRatioVsDdp: r.bytesRatioVsDdp,
    completedRounds: r.completedRounds,
    privacy: r.privacy,
    attackers: r.attackers.length > 0 ? r.attackers : undefined,
    virtualSeconds: r.virtualSeconds,
    wallSeconds: r.wallSeconds,
    nodeRounds: r.nodeRounds,
    wallMsPerNodeRound: r.nodeRounds > 0 ? 1000 * r.wallSeconds / r.nodeRounds : null,
    rounds: r.rounds.map(x => ({ round: x.round, aggregator: x.aggregator, rank: x.rank, included: x.included, groups: x.groups, loss: x.loss, accuracy: x.accuracy, bytes: x.bytes, time: x.time }))
  }
}

async function sim (o: SimCliOptions): Promise<void> {
  const log = o.quiet ? undefined : (m: string): void => { process.stderr.write(m + '\n') }
  const compare = o.compare != null ? parseComparison(o.config, o.compare) : undefined
  // the output directory is made (or found unwritable) before the run, not after it
  if (o.out != null) {
    try { await mkdir(o.out, { recursive: true }) } catch (err) { throw new UsageError(`--out ${o.out}: ${(err as Error).message}`) }
  }
  const report = await runExperiment(o.config, compare, { device: o.device, threads: o.threads, log })
  if (o.out != null) await writeOutputs(o.out, report)
  const first = summary(report.runs[0])
  const out = { ...first, runs: report.runs.map(summary), out: o.out }
  if (o.json) {
    process.stdout.write(JSON.stringify(out) + '\n')
    return
  }
  for (const r of report.runs) {
    // language models report held-out bits per byte where classifiers report accuracy
    const quality = (m: { accuracy: number | null, heldOutBitsPerByte?: number }): string => m.heldOutBitsPerByte != null
      ? `${m.heldOutBitsPerByte.toFixed(3)} bits/byte`
      : m.accuracy != null ? `accuracy ${(100 * m.accuracy).toFixed(2)}%` : 'n/a'
    let line = `${r.label}: ${r.completedRounds} rounds, ${quality(r.final)}, ${(r.bytesTotal / 1e6).toFixed(2)} MB sent`
    if (r.baselines != null) {
      line += ` | ddp ${quality(r.baselines.ddp)} at ${(r.baselines.ddp.bytes / 1e6).toFixed(0)} MB (${r.bytesRatioVsDdp!.toFixed(0)}× more bytes)` +
        ` | local-only ${quality(r.baselines.local)}`
    }
    if (r.attackers.length > 0) line += ` | ${r.attackers.length} attackers (${r.attackers.map(a => `${a.peerId} ${a.kind}`).join(', ')})`
    if (r.privacy != null) line += ` | DP ε = ${r.privacy.epsilon.toFixed(2)} at δ = ${r.privacy.delta} (σ ${r.privacy.noiseMultiplier}, C ${r.privacy.clipNorm}, ${r.privacy.releases} releases)`
    process.stdout.write(line + '\n')
  }
}

/** rounds.json per run, summary.json, and plots of loss/accuracy vs round and vs bytes. */
async function writeOutputs (dir: string, report: ExperimentReport): Promise<void> {
  // plotting loads vega and resvg (~0.15 s, ~30 MB): only `sim` pays for it, not every daemon and CLI call
  const { writeLinePlot } = await import('../plot.js')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'summary.json'), JSON.stringify(report.runs.map(summary), null, 2))
  for (const r of report.runs) {
    const name = r.label.replace(/[^A-Za-z0-9_.=+-]+/g, '_')
    await writeFile(join(dir, `rounds-${name}.json`), JSON.stringify({ label: r.label, config: r.config, rounds: r.rounds }, null, 2))
  }
  for (const metric of ['accuracy', 'loss'] as const) {
    for (const axis of ['round', 'bytes'] as const) {
      const series: Series[] = []
      for (const r of report.runs) {
        series.push({ name: r.label, points: r.rounds.filter(x => x[metric] != null).map(x => ({ x: axis === 'round' ? x.round + 1 : x.bytes, y: x[metric]! })) })
      }
      const b = report.runs[0].baselines
      if (b != null) {
        // the baselines as curves, evaluated after each round's worth of steps (local-only sends nothing: no bytes axis)
        for (const [name, v] of [['ddp (sync)', b.ddp], ['local-only', b.local]] as const) {
          if (axis === 'bytes' && v.bytes === 0) continue
          const points = v.history.filter(p => Number.isFinite(p[metric])).map(p => ({ x: axis === 'round' ? p.round + 1 : Math.max(1, p.bytes), y: p[metric] }))
          series.push({ name, dashed: true, points })
        }
      }
      await writeLinePlot(dir, `${metric}-vs-${axis}`, {
        title: `${metric} vs ${axis === 'round' ? 'round' : 'bytes sent'}`,
        subtitle: `${describeConfig(report.runs[0].config)}${report.runs.length > 1 ? `; ${report.runs.length} configurations compared` : ''}`,
        xLabel: axis === 'round' ? 'round' : 'bytes on the wire (cumulative)',
        yLabel: metric === 'accuracy' ? 'test accuracy' : 'test loss',
        series,
        logX: axis === 'bytes'
      })
    }
  }
}

/** The configuration in a plot title: what someone reading the figure alone needs to know. */
function describeConfig (c: SimConfig): string {
  const parts = [`${c.nodes} nodes`, `${c.model} on ${c.data}`, formatPartition(c.partition), `${c.rounds}×${c.innerSteps} steps`, c.mode, c.codec, `rule ${c.rule}`]
  if (c.attack.length > 0) parts.push(`attack ${c.attack.join('+')} at ${c.attackFraction}`)
  if (c.dpClipNorm > 0) parts.push(`DP σ ${c.dpNoiseMultiplier}`)
  parts.push(`seed ${c.seed}`)
  return parts.join(', ')
}

/** What a flag's value is, for --help: its unit where it has one (ms, s, ×), else what kind of thing. */
function placeholderOf (flag: string, help: string): string {
  const named: Record<string, string> = {
    model: 'name', data: 'name', mode: 'mode', outer: 'preset', partition: 'spec', topology: 'spec', attack: 'kinds',
    bandwidth: 'MB/s', downlink: 'MB/s', stragglers: 'sigma', 'restore-excluded': 'bool', 'keep-inner-state': 'bool'
  }
  if (named[flag] != null) return named[flag]
  if (/-ms$/.test(flag) || /\(ms\b/.test(help)) return 'ms'
  if (/rate|fraction|quorum|lr|momentum|loss|sigma|delta|norm|ratio|multiplier/i.test(flag)) return 'x'
  if (/nodes|rounds|steps|batch|seed|size|backups|every|params|groups/.test(flag)) return 'n'
  if (/codec/.test(flag)) return 'spec'
  if (/rule/.test(flag)) return 'rule'
  return 'value'
}
