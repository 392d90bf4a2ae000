// Simulated nodes training for real: one worker-backed ONNX trainer shared by all nodes, each
// node drawing batches from its own shard with its own seeded sampler.
import { BatchSampler, shard, type Dataset } from '../data/index.js'
import { Trainer, DEFAULT_INNER_OPTIMIZER, loadData, modelSpec, fusedCount, trainFromSampler, type DeviceRequest, type EvalResult } from '../train/index.js'
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
    const rng = new Rng(cfg.seed).fork('samplers')
    this.samplers = shards.map((s, i) => new BatchSampler(train, s, cfg.batch, rng.fork(i)))
  }

  static async create (cfg: SimConfig, opts: OnnxBackendOptions): Promise<OnnxBackend> {
    const { train, test } = loadData(cfg.data)
    const model = modelSpec(cfg.model, train)
    const shards = shard(train, cfg.nodes, cfg.partition, cfg.seed)
    // the whole round's H steps in one ONNX Loop run when it is small enough
    const fused = fusedCount(cfg.innerSteps)
    const trainer = await Trainer.create({ model, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: fused, device: opts.device, threads: opts.threads, seed: cfg.seed })
    return new OnnxBackend(cfg, trainer, model, train, test, shards)
  }

  initialParams (): Float32Array { return initParams(this.model, this.cfg.seed) }

  /** trainings share one worker: they run one after another, while the simulator goes on */
  private queue: Promise<unknown> = Promise.resolve()

  async train (node: number, round: number, params: Float32Array, steps: number): Promise<{ params: Float32Array, samples: number }> {
    const run = this.queue.then(async () => await this.trainNow(node, round, params, steps))
    this.queue = run.catch(() => {})
    return await run
  }

  private async trainNow (node: number, _round: number, params: Float32Array, steps: number): Promise<{ params: Float32Array, samples: number }> {
    // DiLoCo keeps each worker's inner optimizer state across rounds; 'reset' starts it afresh
    await this.trainer.setParams(params, this.cfg.keepInnerState ? this.innerState.get(node) : undefined)
    await trainFromSampler(this.trainer, this.samplers[node], steps, this.cfg.innerLr)
    const after = await this.trainer.getParams()
    if (this.cfg.keepInnerState) this.innerState.set(node, after.state)
    // FedAvg's weighting: a node counts by the examples it holds
    return { params: after.params, samples: this.shards[node].length }
  }

  async evaluate (params: Float32Array): Promise<EvalResult> {
    const run = this.queue.then(async () => {
      await this.trainer.setParams(params)
      return await this.trainer.evaluate(this.test)
    })
    this.queue = run.catch(() => {})
    return await run
  }

  async close (): Promise<void> { await this.trainer.close() }
}
