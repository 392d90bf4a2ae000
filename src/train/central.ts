// One node training alone on a dataset: the engine behind `tapestry train` and the benchmark.
import { Rng } from '../tensor/index.js'
import type { ModelSpec, OptimizerSpec } from '../graph/index.js'
import { BatchSampler, type Dataset } from '../data/index.js'
import { Trainer, type EvalResult } from './trainer.js'
import { trainFromSampler } from './steps.js'
import type { DeviceRequest } from './device.js'
import { checkSchedule, lrAt, type LrSchedule } from './schedule.js'

export interface CentralRunOptions {
  model: ModelSpec
  optimizer: OptimizerSpec
  train: Dataset
  test: Dataset
  steps: number
  batch: number
  /** a fixed rate, or a schedule over the run's steps */
  lr: number | LrSchedule
  fusedSteps: number
  device: DeviceRequest
  seed: number
  threads?: number
  initialParams?: Float32Array
  onProgress?: (done: number, loss: number) => void
}

export interface CentralRunResult {
  trainer: Trainer
  finalLoss: number
  test: EvalResult
  stepsPerSecond: number
  seconds: number
}

/** Trains for `steps` steps in fused chunks (remainder one step at a time); the trainer stays open. */
export async function runCentral (o: CentralRunOptions): Promise<CentralRunResult> {
  const trainer = await Trainer.create({
    model: o.model, optimizer: o.optimizer, fusedSteps: o.fusedSteps, device: o.device, seed: o.seed, threads: o.threads, initialParams: o.initialParams
  })
  try {
    const sampler = new BatchSampler(o.train, null, o.batch, new Rng(o.seed).fork('batches'))
    const t0 = performance.now()
    let lastLoss = NaN
    const recent: number[] = []
    const schedule: LrSchedule = typeof o.lr === 'number' ? { kind: 'constant', lr: o.lr } : checkSchedule(o.lr)
    await trainFromSampler(trainer, sampler, o.steps, step => lrAt(schedule, step, o.steps), (done, losses) => {
      for (const l of losses) { recent.push(l); if (recent.length > 20) recent.shift() }
      lastLoss = recent.reduce((a, b) => a + b, 0) / recent.length
      o.onProgress?.(done, lastLoss)
    })
    const seconds = (performance.now() - t0) / 1000
    const test = await trainer.evaluate(o.test)
    return { trainer, finalLoss: lastLoss, test, stepsPerSecond: o.steps / seconds, seconds }
  } catch (err) {
    await trainer.close()
    throw err
  }
}
