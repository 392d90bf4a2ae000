// The baselines every experiment reports against, trained in the same process on the same shards:
// synchronous data-parallel (gradients averaged every step) and local-only training.
import { BatchSampler } from '../data/index.js'
import { Rng } from '../tensor/index.js'
import { trainFromSampler, type EvalResult } from '../train/index.js'
import type { OnnxBackend } from './onnx-backend.js'
import type { SimConfig } from './config.js'

export interface BaselineResult {
  loss: number
  /** NaN when the model reports no accuracy (a language model) */
  accuracy: number
  /** held-out bits per byte, when the model reports it */
  bitsPerByte?: number
  /** the same number under the name language-model outputs use everywhere */
  heldOutBitsPerByte?: number
  /** bytes on the wire for the whole run */
  bytes: number
  steps: number
  /** the baseline after each round's worth of steps (every evalEvery rounds and the last): what plots draw as a curve */
  history: BaselinePoint[]
}

/** A baseline after `round + 1` rounds' worth of steps (cumulative bytes). */
export interface BaselinePoint { round: number, loss: number, accuracy: number, bitsPerByte?: number, bytes: number }

/** Whether the baseline is evaluated after round `r` (0-based) of `cfg`: every evalEvery rounds, and the last. */
function evaluatedAfter (r: number, cfg: SimConfig): boolean {
  return r === cfg.rounds - 1 || (r + 1) % Math.max(1, cfg.evalEvery) === 0
}

/**
 * Synchronous data-parallel: each step every node computes the gradient of its own batch and
 * all gradients are averaged. With equal per-node batches that is exactly one step on the
 * union of the nodes' batches, which is how it runs here. Bytes: a parameter-server exchange,
 * every node sends its gradient and receives the average every step (2·N·P·4 per step).
 */
export async function runDdp (backend: OnnxBackend, cfg: SimConfig): Promise<BaselineResult> {
  const steps = cfg.rounds * cfg.innerSteps
  const trainer = backend.trainer
  await trainer.setParams(backend.initialParams())
  const rng = new Rng(cfg.seed).fork('ddp')
  const samplers = backend.shards.map((s, i) => new BatchSampler(backend.train_, s, cfg.batch, rng.fork(i)))
  const xPer = trainer.inputShape.reduce((a, b) => a * b, 1)
  const yPer = trainer.targetShape.reduce((a, b) => a * b, 1)
  const n = samplers.length
  const big = n * cfg.batch
  const bytesPerStep = 2 * n * backend.layout.total * 4
  const history: BaselinePoint[] = []
  let done = 0
  while (done < steps) {
    // never fuse across the end of a round's worth of steps: the curve is evaluated there
    const toBoundary = cfg.innerSteps - (done % cfg.innerSteps)
    const k = Math.min(toBoundary, trainer.fusedSteps) === trainer.fusedSteps && steps - done >= trainer.fusedSteps ? trainer.fusedSteps : 1
    const x = trainer.input.dtype === 'float32' ? new Float32Array(k * big * xPer) : new BigInt64Array(k * big * xPer)
    const y = new BigInt64Array(k * big * yPer)
    for (let s = 0; s < k; s++) {
      for (let i = 0; i < n; i++) {
        const b = samplers[i].next(1)
        const row = s * big + i * cfg.batch
        if (x instanceof Float32Array && b.x instanceof Float32Array) x.set(b.x, row * xPer)
        else if (x instanceof BigInt64Array && b.x instanceof BigInt64Array) x.set(b.x, row * xPer)
        else throw new TypeError(`batch of ${b.kind} data does not match the model input ${trainer.input.dtype}`)
        y.set(b.y, row * yPer)
      }
    }
    await trainer.trainSteps(k, big, x, y, cfg.innerLr)
    done += k
    const round = done / cfg.innerSteps - 1
    if (done % cfg.innerSteps === 0 && evaluatedAfter(round, cfg)) history.push({ round, ...metrics(await trainer.evaluate(backend.test)), bytes: bytesPerStep * done })
  }
  const ev = await trainer.evaluate(backend.test)
  return { ...metrics(ev), bytes: bytesPerStep * steps, steps, history }
}

/** Local-only: nodes train alone on their shards for the same steps; mean over (up to 16) nodes. */
export async function runLocalOnly (backend: OnnxBackend, cfg: SimConfig, maxNodes = 16): Promise<BaselineResult & { nodesEvaluated: number }> {
  const steps = cfg.rounds * cfg.innerSteps
  const trainer = backend.trainer
  const rng = new Rng(cfg.seed).fork('local')
  const count = Math.min(maxNodes, backend.shards.length)
  const pick = rng.shuffle(Array.from({ length: backend.shards.length }, (_, i) => i)).slice(0, count) as number[]
  let loss = 0
  let acc = 0
  let bpb = 0
  // the curve: the mean over the nodes after each evaluated round's worth of steps
  const sums = new Map<number, { loss: number, accuracy: number, bitsPerByte: number }>()
  for (const node of pick) {
    await trainer.setParams(backend.initialParams())
    const sampler = new BatchSampler(backend.train_, backend.shards[node], cfg.batch, rng.fork(node))
    for (let r = 0; r < cfg.rounds; r++) {
      await trainFromSampler(trainer, sampler, cfg.innerSteps, cfg.innerLr)
      if (!evaluatedAfter(r, cfg)) continue
      const m = metrics(await trainer.evaluate(backend.test))
      const s = sums.get(r) ?? { loss: 0, accuracy: 0, bitsPerByte: 0 }
      s.loss += m.loss / count
      s.accuracy += m.accuracy / count
      s.bitsPerByte += (m.bitsPerByte ?? NaN) / count
      sums.set(r, s)
      if (r === cfg.rounds - 1) { loss += m.loss / count; acc += m.accuracy / count; bpb += (m.bitsPerByte ?? NaN) / count }
    }
  }
  const history: BaselinePoint[] = [...sums].map(([round, s]) => ({ round, loss: s.loss, accuracy: s.accuracy, ...(Number.isNaN(s.bitsPerByte) ? {} : { bitsPerByte: s.bitsPerByte }), bytes: 0 }))
  return { loss, accuracy: acc, ...(Number.isNaN(bpb) ? {} : { bitsPerByte: bpb, heldOutBitsPerByte: bpb }), bytes: 0, steps, nodesEvaluated: count, history }
}

function metrics (ev: EvalResult): { loss: number, accuracy: number, bitsPerByte?: number } {
  return { loss: ev.loss, accuracy: ev.accuracy ?? NaN, ...(ev.bitsPerByte === undefined ? {} : { bitsPerByte: ev.bitsPerByte, heldOutBitsPerByte: ev.bitsPerByte }) }
}
