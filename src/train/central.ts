// One node training alone on a dataset: the engine behind `tapestry train` and the benchmark.
import { Rng } from '../tensor/index.js'
import type { ModelSpec, OptimizerSpec } from '../graph/index.js'
import { BatchSampler, type Dataset } from '../data/index.js'
import { Trainer, type EvalResult } from './trainer.js'
import type { DeviceRequest } from './device.js'

export interface CentralRunOptions {
  model: ModelSpec
  optimizer: OptimizerSpec
  train: Dataset
  test: Dataset
  steps: number
  batch: number
  lr: number
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
    let done = 0
    let lastLoss = NaN
    const recent: number[] = []
    const chunk = (from: number): number => o.steps - from >= trainer.fusedSteps ? trainer.fusedSteps : 1
    let next = sampler.next(chunk(0))
    while (done < o.steps) {
      const k = chunk(done)
      const cur = next
      // draw the following batches on this thread while the worker trains on these
      const running = trainer.trainSteps(k, o.batch, cur.x, cur.y, o.lr)
      if (done + k < o.steps) next = sampler.next(chunk(done + k))
      const losses = await running
      for (const l of losses) { recent.push(l); if (recent.length > 20) recent.shift() }
      done += k
      lastLoss = recent.reduce((a, b) => a + b, 0) / recent.length
      o.onProgress?.(done, lastLoss)
    }
    const seconds = (performance.now() - t0) / 1000
    const test = await trainer.evaluate(o.test)
    return { trainer, finalLoss: lastLoss, test, stepsPerSecond: o.steps / seconds, seconds }
  } catch (err) {
    await trainer.close()
    throw err
  }
}
