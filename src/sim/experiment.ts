// One experiment: a simulated run per compared configuration, plus the baselines, as one report.
import { applySetting, validateSimConfig, type SimConfig } from './config.js'
import { Simulation, type SimResult } from './sim.js'
import { SyntheticBackend, type TrainingBackend } from './backend.js'
import { OnnxBackend, type OnnxBackendOptions } from './onnx-backend.js'
import { runDdp, runLocalOnly, type BaselineResult } from './baselines.js'
import { SimError, SimErrorCode } from './errors.js'

export interface Comparison { key: string, values: string[] }

export interface RunReport extends SimResult {
  label: string
  config: SimConfig
  baselines?: { ddp: BaselineResult, local: BaselineResult & { nodesEvaluated: number } }
  /** DDP bytes / this run's bytes */
  bytesRatioVsDdp?: number
}

export interface ExperimentReport {
  runs: RunReport[]
}

/** Settings whose change changes the baselines too (same steps, data and shards). */
const BASELINE_KEYS = ['nodes', 'rounds', 'innerSteps', 'batch', 'innerLr', 'partition', 'seed', 'model', 'data']

/** Parses `key=v1,v2,...` and checks every value before any run starts. */
export function parseComparison (base: SimConfig, text: string): Comparison {
  const eq = text.indexOf('=')
  if (eq <= 0) throw new SimError(SimErrorCode.CONFIG, `--compare needs <setting>=<v1>,<v2>..., got "${text}"`)
  const key = text.slice(0, eq).trim()
  // codec specs contain ':' and '+', never ','; fold specs likewise
  const values = text.slice(eq + 1).split(',').map(v => v.trim()).filter(v => v !== '')
  if (values.length === 0) throw new SimError(SimErrorCode.CONFIG, `--compare ${key} lists no values`)
  for (const v of values) validateSimConfig(applySetting(base, key, v))
  return { key, values }
}

export interface ExperimentOptions extends OnnxBackendOptions {
  log?: (msg: string) => void
}

export async function runExperiment (base: SimConfig, compare: Comparison | undefined, opts: ExperimentOptions): Promise<ExperimentReport> {
  const configs = compare == null
    ? [{ label: 'tapestry', cfg: validateSimConfig(base) }]
    : compare.values.map(v => ({ label: `${compare.key}=${v}`, cfg: validateSimConfig(applySetting(base, compare.key, v)) }))
  const baselineCache = new Map<string, RunReport['baselines']>()
  const runs: RunReport[] = []
  for (const { label, cfg } of configs) {
    opts.log?.(`--- ${label}`)
    const backend: TrainingBackend = cfg.synthetic ? new SyntheticBackend(cfg.syntheticParams, cfg.seed) : await OnnxBackend.create(cfg, opts)
    try {
      const sim = new Simulation(cfg, backend, opts.log)
      const result = await sim.run()
      const report: RunReport = { label, config: cfg, ...result }
      if (cfg.baselines && backend instanceof OnnxBackend) {
        const key = JSON.stringify(BASELINE_KEYS.map(k => (cfg as unknown as Record<string, unknown>)[k]))
        let b = baselineCache.get(key)
        if (b == null) {
          opts.log?.('baseline: synchronous data-parallel')
          const ddp = await runDdp(backend, cfg)
          opts.log?.(`baseline ddp: accuracy ${(100 * ddp.accuracy).toFixed(2)}%`)
          opts.log?.('baseline: local-only')
          const local = await runLocalOnly(backend, cfg)
          opts.log?.(`baseline local: accuracy ${(100 * local.accuracy).toFixed(2)}%`)
          b = { ddp, local }
          baselineCache.set(key, b)
        }
        report.baselines = b
        report.bytesRatioVsDdp = b!.ddp.bytes / Math.max(1, result.bytesTotal)
      }
      runs.push(report)
    } finally {
      await backend.close()
    }
  }
  return { runs }
}
