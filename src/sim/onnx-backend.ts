// Simulated nodes training for real: one worker-backed ONNX trainer shared by all nodes, each
// node drawing batches from its own shard with its own seeded sampler.
import { BatchSampler, shard, shardWeight, type Dataset } from '../data/index.js'
import { Trainer, DEFAULT_INNER_OPTIMIZER, checkPairing, loadDataFor, modelSpec, fusedCount, postTraining, type DeviceRequest, type EvalResult } from '../train/index.js'
import { initParams, type ModelSpec } from '../graph/index.js'
import { Rng, type ParamLayout } from '../tensor/index.js'
import type { TrainingBackend } from './backend.js'
import type { SimConfig } from './config.js'

export interface OnnxBackendOptions { device: DeviceRequest, threads?: number }

export class OnnxBackend implements TrainingBackend {
  readonly layout: ParamLayout
  readonly trainer: Trainer
  readonly model: ModelSpec
  readonly train_: Dataset
  readonly test: Dataset
  readonly shards: Int32Array[]
  /** what each node's update weighs in the fold: the examples (or tokens) its shard holds */
  readonly weights: number[]
  private readonly samplers: BatchSampler[]
  private readonly cfg: SimConfig
  /** per-node inner optimizer state, kept across rounds when cfg.keepInnerState */
  private readonly innerState = new Map<number, Float32Array[]>()

  private constructor (cfg: SimConfig, trainer: Trainer, model: ModelSpec, train: Dataset, test: Dataset, shards: Int32Array[]) {
    this.cfg = cfg
    this.trainer = trainer
    this.layout = trainer.layout
    this.model = model
    this.train_ = train
    this.test = test
    this.shards = shards
    this.weights = shards.map(s => shardWeight(train, s))
    const rng = new Rng(cfg.seed).fork('samplers')
    this.samplers = shards.map((s, i) => new BatchSampler(train, s, cfg.batch, rng.fork(i)))
  }

  static async create (cfg: SimConfig, opts: OnnxBackendOptions): Promise<OnnxBackend> {
    checkPairing(cfg.model, cfg.data)
    const { train, test } = loadDataFor(cfg.model, cfg.data)
    const model = modelSpec(cfg.model, train)
    const shards = shard(train, cfg.nodes, cfg.partition, cfg.seed)
    // the whole round's H steps in one ONNX Loop run when it is small enough
    const fused = fusedCount(cfg.innerSteps)
    const trainer = await Trainer.create({ model, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: fused, device: opts.device, threads: opts.threads, seed: cfg.seed })
    return new OnnxBackend(cfg, trainer, model, train, test, shards)
  }

  initialParams (): Float32Array { return initParams(this.model, this.cfg.seed) }

  /**
   * Trainings share one worker and run one after another while the simulator goes on. Each job
   * (set params, train, get params) is posted whole, and up to JOBS_AHEAD jobs wait in the
   * worker's queue, so the worker never idles while this thread folds or verifies; a job's
   * messages stay contiguous, so jobs cannot interleave. Results do not depend on job order.
   */
  private static readonly JOBS_AHEAD = 4
  private posted = 0
  private readonly waiting: Array<{ n: number, go: () => void }> = []

  /** FIFO admission of `n` job slots (evaluation takes them all: its chunks must not interleave). */
  private async admit (n: number): Promise<void> {
    if (this.waiting.length === 0 && this.posted + n <= OnnxBackend.JOBS_AHEAD) { this.posted += n; return }
    await new Promise<void>(resolve => this.waiting.push({ n, go: resolve }))
  }

  private release (n: number): void {
    this.posted -= n
    while (this.waiting.length > 0 && this.posted + this.waiting[0].n <= OnnxBackend.JOBS_AHEAD) {
      const w = this.waiting.shift()!
      this.posted += w.n
      w.go()
    }
  }

  async train (node: number, _round: number, params: Float32Array, steps: number): Promise<{ params: Float32Array, samples: number }> {
    await this.admit(1)
    try {
      // DiLoCo keeps each worker's inner optimizer state across rounds; 'reset' starts it afresh
      const jobs: Array<Promise<unknown>> = [this.trainer.setParams(params, this.cfg.keepInnerState ? this.innerState.get(node) : undefined)]
      jobs.push(...postTraining(this.trainer, this.samplers[node], steps, this.cfg.innerLr))
      const result = this.trainer.getParams()
      result.catch(() => {})
      await Promise.all(jobs)
      const after = await result
      if (this.cfg.keepInnerState) this.innerState.set(node, after.state)
      // FedAvg's weighting: a node counts by the examples (tokens) it holds
      return { params: after.params, samples: this.weights[node] }
    } finally { this.release(1) }
  }

  async evaluate (params: Float32Array): Promise<EvalResult> {
    await this.admit(OnnxBackend.JOBS_AHEAD)
    try {
      await this.trainer.setParams(params)
      return await this.trainer.evaluate(this.test)
    } finally { this.release(OnnxBackend.JOBS_AHEAD) }
  }

  async close (): Promise<void> { await this.trainer.close() }
}
