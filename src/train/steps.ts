// Running a number of optimizer steps from a batch sampler: fused chunks, and the next batches
// drawn on this thread while the worker trains on the current ones.
import type { BatchSampler } from '../data/index.js'
import type { Trainer } from './trainer.js'

/** Largest divisor of H that is at most 64: H steps run as H/K fused calls with no remainder. */
export function fusedCount (h: number): number {
  for (let k = Math.min(64, h); k > 1; k--) if (h % k === 0) return k
  return 1
}

/** Steps of the next chunk when `left` remain: the fused count, then single steps for the remainder. */
function chunkOf (trainer: Trainer, left: number): number {
  return left >= trainer.fusedSteps ? trainer.fusedSteps : 1
}

/**
 * Trains `steps` steps at the sampler's batch size, in chunks of the trainer's fused count
 * (the remainder one step at a time). `onChunk` sees the steps done so far and that chunk's losses.
 */
export async function trainFromSampler (
  trainer: Trainer, sampler: BatchSampler, steps: number, lr: number | ((step: number) => number),
  onChunk?: (done: number, losses: Float32Array) => void
): Promise<void> {
  // a fused chunk runs at one rate: the schedule's rate at its first step
  const rate = typeof lr === 'number' ? () => lr : lr
  const chunk = (from: number): number => chunkOf(trainer, steps - from)
  let done = 0
  let next = steps > 0 ? sampler.next(chunk(0)) : undefined
  while (done < steps && next !== undefined) {
    const k = chunk(done)
    const cur = next
    const running = trainer.trainSteps(k, sampler.batchSize, cur.x, cur.y, rate(done))
    if (done + k < steps) next = sampler.next(chunk(done + k))
    const losses = await running
    done += k
    onChunk?.(done, losses)
  }
}

/**
 * Posts `steps` steps to the trainer's worker at once (batches drawn now, chunked as in
 * trainFromSampler) without waiting between chunks, so the worker never idles on this thread.
 * The caller keeps the worker's messages of one job contiguous. Resolves to each chunk's losses.
 */
export function postTraining (trainer: Trainer, sampler: BatchSampler, steps: number, lr: number): Array<Promise<Float32Array>> {
  const posted: Array<Promise<Float32Array>> = []
  for (let done = 0; done < steps;) {
    const k = chunkOf(trainer, steps - done)
    const b = sampler.next(k)
    posted.push(trainer.trainSteps(k, sampler.batchSize, b.x, b.y, lr))
    done += k
  }
  return posted
}
