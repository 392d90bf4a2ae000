// `npm run bench -- train --model gpt`: the default GPT recipe's training step (4 layers × 4 heads ×
// 128 wide, context 128, batch 32, AdamW with clipping, 16 steps fused) against two references
// measured in the same run, interleaved: ONNX Runtime's 1024³ MatMul peak, and the same GPT
// trained by TensorFlow.js on its wasm backend (Disco's engine family).
import { Trainer, recipe } from '../src/train/index.js'
import { BatchSampler, loadSotu } from '../src/data/index.js'
import { Rng } from '../src/tensor/index.js'
import type { ModelSpec } from '../src/graph/index.js'
import { gemmPeak } from './gemm-peak.js'
import { fusedStepsPerSecond } from './train.js'
import { tfjsGptTokensPerSecond } from './tfjs-gpt.js'

const SHAPE = { vocab: 256, context: 128, layers: 4, heads: 4, width: 128 }
const BATCH = 32
const FUSED = 16

/**
 * Training FLOPs per token: 6 × (the 12·L·D² block matrices + the V·D tied head) for forward and
 * both backward products, plus 12·L·T·D for attention's two T-long products (Kaplan et al. 2020).
 */
export function gptFlopsPerToken (s: typeof SHAPE): number {
  return 6 * (12 * s.layers * s.width * s.width + s.vocab * s.width) + 12 * s.layers * s.context * s.width
}

async function tapestryTokensPerSecond (seconds: number): Promise<{ tps: number, device: string }> {
  const model: ModelSpec = { kind: 'gpt', ...SHAPE }
  const r = recipe('gpt')
  const trainer = await Trainer.create({ model, optimizer: r.optimizer, fusedSteps: FUSED, device: 'cpu', seed: 1 })
  try {
    const sampler = new BatchSampler(loadSotu({ context: SHAPE.context }).train, null, BATCH, new Rng(1))
    return { tps: await fusedStepsPerSecond(trainer, sampler, seconds, 1) * BATCH * SHAPE.context, device: trainer.device }
  } finally {
    await trainer.close()
  }
}

export async function benchTrainGpt (opts: { json: boolean, seconds?: number, reps?: number }): Promise<object> {
  const seconds = opts.seconds ?? 6
  const reps = opts.reps ?? 3
  const say = (s: string): void => { if (!opts.json) process.stdout.write(s + '\n') }
  const flops = gptFlopsPerToken(SHAPE)
  say(`GPT ${SHAPE.layers}×${SHAPE.heads}×${SHAPE.width}, context ${SHAPE.context}, batch ${BATCH}, ${FUSED} steps fused: ${(flops / 1e6).toFixed(2)} MFLOP per token`)
  const rows: Array<{ rep: number, gemmPeakGflops: number, tokensPerSecond: number, gflops: number, fractionOfGemmPeak: number, tfjsWasmTokensPerSecond: number, ratioVsTfjsWasm: number }> = []
  // peer and subject interleaved, several times: the machine is noisy
  for (let rep = 0; rep < reps; rep++) {
    const peak = await gemmPeak('cpu', 1024, 2)
    const t = await tapestryTokensPerSecond(seconds)
    const tf = await tfjsGptTokensPerSecond(SHAPE, 8, seconds)
    const gflops = t.tps * flops / 1e9
    const row = { rep, gemmPeakGflops: peak, tokensPerSecond: t.tps, gflops, fractionOfGemmPeak: gflops / peak, tfjsWasmTokensPerSecond: tf, ratioVsTfjsWasm: t.tps / tf }
    rows.push(row)
    say(`rep ${rep}: GEMM peak ${peak.toFixed(1)} GFLOP/s | tapestry ${t.tps.toFixed(0)} tokens/s = ${gflops.toFixed(1)} GFLOP/s = ${(100 * row.fractionOfGemmPeak).toFixed(1)}% of peak | tfjs-wasm ${tf.toFixed(0)} tokens/s → ${row.ratioVsTfjsWasm.toFixed(1)}×`)
  }
  const span = (k: 'fractionOfGemmPeak' | 'ratioVsTfjsWasm'): { median: number, min: number, max: number } => {
    const v = rows.map(r => r[k]).sort((a, b) => a - b)
    return { median: v[Math.floor(v.length / 2)], min: v[0], max: v[v.length - 1] }
  }
  const f = span('fractionOfGemmPeak')
  const r = span('ratioVsTfjsWasm')
  say(`targets: ≥ 40% of GEMM peak → median ${(100 * f.median).toFixed(1)}% (${(100 * f.min).toFixed(1)}–${(100 * f.max).toFixed(1)}%); ≥ 20× tfjs-wasm → median ${r.median.toFixed(1)}× (${r.min.toFixed(1)}–${r.max.toFixed(1)}×)`)
  return { bench: 'train-gpt', shape: SHAPE, batch: BATCH, fused: FUSED, flopsPerToken: flops, rows, fractionOfGemmPeak: f, ratioVsTfjsWasm: r, targets: { fractionOfGemmPeak: 0.4, ratioVsTfjsWasm: 20 } }
}
