// `npm run bench -- train`: Tapestry's trainer vs tfjs-wasm on the same MLP, and vs the ORT GEMM peak.
import { Trainer, DEFAULT_INNER_OPTIMIZER } from '../src/train/index.js'
import { loadMnist, BatchSampler } from '../src/data/index.js'
import { Rng } from '../src/tensor/index.js'
import type { ModelSpec } from '../src/graph/index.js'
import { gemmPeak } from './gemm-peak.js'
import { tfjsWasmStepsPerSecond } from './tfjs-peer.js'

const SIZES = [784, 256, 10]

/** FLOPs of one training step: forward, weight gradients, and input gradients except the first layer's. */
function flopsPerStep (sizes: number[], batch: number): number {
  let f = 0
  for (let i = 0; i + 1 < sizes.length; i++) {
    const mm = 2 * batch * sizes[i] * sizes[i + 1]
    f += i === 0 ? 2 * mm : 3 * mm
  }
  return f
}

/**
 * Optimizer steps per second of `trainer` in fused runs for about `seconds`, after `warmup` runs;
 * the next batches are drawn on the main thread while the worker trains on the current ones.
 */
export async function fusedStepsPerSecond (trainer: Trainer, sampler: BatchSampler, seconds: number, warmup: number): Promise<number> {
  const fused = trainer.fusedSteps
  let next = sampler.next(fused)
  const run = async (): Promise<void> => {
    const cur = next
    const done = trainer.trainSteps(fused, sampler.batchSize, cur.x, cur.y, 1e-3)
    next = sampler.next(fused)
    await done
  }
  for (let i = 0; i < warmup; i++) await run()
  let steps = 0
  const t0 = performance.now()
  while (performance.now() - t0 < seconds * 1000) { await run(); steps += fused }
  return steps / ((performance.now() - t0) / 1000)
}

async function tapestryStepsPerSecond (batch: number, fused: number, seconds: number): Promise<{ sps: number, device: string }> {
  const model: ModelSpec = { kind: 'mlp', sizes: SIZES }
  const trainer = await Trainer.create({ model, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: fused, device: 'cpu', seed: 1 })
  try {
    const { train } = loadMnist()
    const sampler = new BatchSampler(train, null, batch, new Rng(1))
    return { sps: await fusedStepsPerSecond(trainer, sampler, seconds, 3), device: trainer.device }
  } finally {
    await trainer.close()
  }
}

export async function benchTrain (opts: { json: boolean, seconds?: number }): Promise<object> {
  const seconds = opts.seconds ?? 3
  const say = (s: string): void => { if (!opts.json) process.stdout.write(s + '\n') }
  const peak = await gemmPeak('cpu', 1024, seconds)
  say(`ORT 1024³ MatMul peak: ${peak.toFixed(1)} GFLOP/s`)
  const rows: Array<Record<string, number | string>> = []
  for (const batch of [64, 256]) {
    const tf = await tfjsWasmStepsPerSecond(SIZES, batch, seconds)
    for (const fused of [1, 16]) {
      const r = await tapestryStepsPerSecond(batch, fused, seconds)
      const gflops = flopsPerStep(SIZES, batch) * r.sps / 1e9
      const row = { batch, fused, device: r.device, stepsPerSecond: r.sps, tfjsWasmStepsPerSecond: tf, ratioVsTfjsWasm: r.sps / tf, gflops, fractionOfGemmPeak: gflops / peak }
      rows.push(row)
      say(`batch ${batch} fused ${String(fused).padStart(2)}: ${r.sps.toFixed(0)} steps/s  tfjs-wasm ${tf.toFixed(1)} steps/s  ratio ${(r.sps / tf).toFixed(1)}×  ${gflops.toFixed(1)} GFLOP/s = ${(100 * gflops / peak).toFixed(1)}% of GEMM peak`)
    }
  }
  const b64 = rows.find(r => r.batch === 64 && r.fused === 16)!
  const b256 = rows.find(r => r.batch === 256 && r.fused === 16)!
  const result = {
    bench: 'train',
    gemmPeakGflops: peak,
    rows,
    ratioVsTfjsWasm: b64.ratioVsTfjsWasm,
    fractionOfGemmPeak: b256.fractionOfGemmPeak,
    targets: { ratioVsTfjsWasm: 20, fractionOfGemmPeak: 0.65 }
  }
  say(`targets: ≥ 20× tfjs-wasm at batch 64 fused → ${(b64.ratioVsTfjsWasm as number).toFixed(1)}×; ≥ 65% of GEMM peak at batch 256 fused → ${(100 * (b256.fractionOfGemmPeak as number)).toFixed(1)}%`)
  return result
}
