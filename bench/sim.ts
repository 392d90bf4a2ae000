// `npm run bench -- sim`: the federated-vs-synchronous target, and the simulator at 1,000 and 10,000 nodes.
import { DEFAULT_SIM_CONFIG, validateSimConfig, type SimConfig } from '../src/sim/config.js'
import { runExperiment } from '../src/sim/experiment.js'
import { Trainer, DEFAULT_INNER_OPTIMIZER } from '../src/train/index.js'
import { BatchSampler, loadMnist } from '../src/data/index.js'
import { Rng } from '../src/tensor/index.js'

/** The configuration the target is claimed for (also the README's). */
export const TARGET_CONFIG: SimConfig = {
  ...DEFAULT_SIM_CONFIG,
  nodes: 16,
  rounds: 20,
  innerSteps: 50,
  partition: { kind: 'dirichlet', alpha: 0.5 }
}

/** Training-only steps/s at the simulator's batch: the floor a simulated node-round cannot beat. */
async function pureTrainingMsPerStep (batch: number, fused: number): Promise<number> {
  const trainer = await Trainer.create({ model: { kind: 'mlp', sizes: [784, 256, 10] }, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: fused, device: 'cpu', seed: 1 })
  try {
    const sampler = new BatchSampler(loadMnist().train, null, batch, new Rng(1))
    for (let i = 0; i < 3; i++) { const b = sampler.next(fused); await trainer.trainSteps(fused, batch, b.x, b.y, 1e-3) }
    const t0 = performance.now()
    let steps = 0
    while (performance.now() - t0 < 2000) { const b = sampler.next(fused); await trainer.trainSteps(fused, batch, b.x, b.y, 1e-3); steps += fused }
    return (performance.now() - t0) / steps
  } finally { await trainer.close() }
}

export async function benchSim (opts: { json: boolean, only?: string }): Promise<object> {
  const say = (s: string): void => { if (!opts.json) process.stdout.write(s + '\n') }
  const log = opts.json ? undefined : (m: string): void => { if (/^(round|baseline|---)/.test(m)) process.stderr.write(m + '\n') }
  const out: Record<string, unknown> = { bench: 'sim' }

  // 1. accuracy and bytes against the synchronous baseline
  const t = (await runExperiment(validateSimConfig(TARGET_CONFIG), undefined, { device: 'cpu', log })).runs[0]
  const b = t.baselines!
  const gap = 100 * (b.ddp.accuracy - (t.final.accuracy ?? 0))
  out.target = {
    nodes: 16, rounds: 20, innerSteps: TARGET_CONFIG.innerSteps, codec: TARGET_CONFIG.codec, mode: TARGET_CONFIG.mode,
    accuracy: t.final.accuracy, ddpAccuracy: b.ddp.accuracy, localAccuracy: b.local.accuracy, gapPoints: gap,
    bytes: t.bytesTotal, ddpBytes: b.ddp.bytes, bytesRatioVsDdp: t.bytesRatioVsDdp,
    pass: gap <= 1.5 && (t.bytesRatioVsDdp ?? 0) >= 1000
  }
  say(`16 nodes, Dirichlet 0.5, ${TARGET_CONFIG.rounds}×${TARGET_CONFIG.innerSteps} steps, ${TARGET_CONFIG.codec}: accuracy ${(100 * t.final.accuracy!).toFixed(2)}% vs synchronous ${(100 * b.ddp.accuracy).toFixed(2)}% (gap ${gap.toFixed(2)} points, target ≤ 1.5), local-only ${(100 * b.local.accuracy).toFixed(2)}%`)
  say(`bytes: ${(t.bytesTotal / 1e6).toFixed(1)} MB vs synchronous ${(b.ddp.bytes / 1e9).toFixed(1)} GB = ${t.bytesRatioVsDdp!.toFixed(0)}× fewer (target ≥ 1000×)`)

  // 1b. the other update modes on the same setting, against the same synchronous baseline
  out.modes = {}
  for (const mode of ['aggregator', 'hierarchical'] as const) {
    const cfg = validateSimConfig({ ...TARGET_CONFIG, mode, groupSize: 4, baselines: false })
    const m = (await runExperiment(cfg, undefined, { device: 'cpu', log })).runs[0]
    const mGap = 100 * (b.ddp.accuracy - (m.final.accuracy ?? 0))
    ;(out.modes as Record<string, unknown>)[mode] = { accuracy: m.final.accuracy, gapPoints: mGap, bytes: m.bytesTotal, bytesRatioVsDdp: b.ddp.bytes / m.bytesTotal, groupSize: mode === 'hierarchical' ? 4 : undefined }
    say(`  ${mode} mode${mode === 'hierarchical' ? ' (4 groups of 4)' : ''}: accuracy ${(100 * m.final.accuracy!).toFixed(2)}% (gap ${mGap.toFixed(2)} points), ${(m.bytesTotal / 1e6).toFixed(1)} MB = ${(b.ddp.bytes / m.bytesTotal).toFixed(0)}× fewer than synchronous`)
  }

  // 2. scale with training: 1,000 nodes × 20 rounds
  const scaleCfg: SimConfig = validateSimConfig({ ...TARGET_CONFIG, nodes: 1000, rounds: 20, innerSteps: 10, mode: 'aggregator', codec: 'topk:0.01+q4', aggregateCodec: 'int8', baselines: false, evalEvery: 5, quorum: 0.75 })
  const msPerStep = await pureTrainingMsPerStep(scaleCfg.batch, 10)
  const s = (await runExperiment(scaleCfg, undefined, { device: 'cpu', log })).runs[0]
  const perNodeRound = 1000 * s.wallSeconds / s.nodeRounds
  const trainFloor = msPerStep * scaleCfg.innerSteps
  out.scale1000 = { nodes: 1000, rounds: s.completedRounds, innerSteps: scaleCfg.innerSteps, wallSeconds: s.wallSeconds, limitSeconds: 600, fractionOfLimit: s.wallSeconds / 600, wallMsPerNodeRound: perNodeRound, trainingMsPerNodeRound: trainFloor, overheadRatio: perNodeRound / trainFloor, accuracy: s.final.accuracy }
  say(`1,000 nodes × ${s.completedRounds} rounds (H=${scaleCfg.innerSteps}, training): ${s.wallSeconds.toFixed(0)} s = ${(100 * s.wallSeconds / 600).toFixed(0)}% of the 10-minute limit; ${perNodeRound.toFixed(1)} ms per node-round = ${(perNodeRound / trainFloor).toFixed(2)}× the pure training time (${trainFloor.toFixed(1)} ms); accuracy ${s.final.accuracy != null ? (100 * s.final.accuracy).toFixed(2) + '%' : 'n/a'}`)

  // 3. protocol only: 10,000 nodes
  const protoCfg: SimConfig = validateSimConfig({ ...DEFAULT_SIM_CONFIG, nodes: 10_000, rounds: 5, innerSteps: 10, mode: 'aggregator', synthetic: true, syntheticParams: 10_000, baselines: false, topology: { kind: 'regular', degree: 8 }, codec: 'topk:0.01+q4', aggregateCodec: 'int8' })
  const p = (await runExperiment(protoCfg, undefined, { device: 'cpu', log })).runs[0]
  const pPer = 1000 * p.wallSeconds / p.nodeRounds
  out.protocol10000 = { nodes: 10_000, rounds: p.completedRounds, wallSeconds: p.wallSeconds, wallMsPerNodeRound: pPer, events: p.events, limitSeconds: 600, fractionOfLimit: p.wallSeconds / 600 }
  say(`10,000 nodes protocol-only × ${p.completedRounds} rounds: ${p.wallSeconds.toFixed(0)} s (${(100 * p.wallSeconds / 600).toFixed(0)}% of 10 min), ${pPer.toFixed(2)} ms per node-round, ${p.events} events`)

  // 4. hierarchical mode at the same scale, protocol only, against the aggregator-mode run above
  const hierCfg: SimConfig = validateSimConfig({ ...protoCfg, mode: 'hierarchical', groupSize: 32 })
  const h = (await runExperiment(hierCfg, undefined, { device: 'cpu', log })).runs[0]
  const hPer = 1000 * h.wallSeconds / h.nodeRounds
  out.hierarchical10000 = { nodes: 10_000, groupSize: 32, rounds: h.completedRounds, wallSeconds: h.wallSeconds, wallMsPerNodeRound: hPer, vsAggregatorMode: hPer / pPer, fractionOfLimit: h.wallSeconds / 600, virtualSecondsPerRound: h.virtualSeconds / h.completedRounds, aggregatorVirtualSecondsPerRound: p.virtualSeconds / p.completedRounds }
  say(`10,000 nodes hierarchical (groups of 32) × ${h.completedRounds} rounds: ${h.wallSeconds.toFixed(0)} s (${(100 * h.wallSeconds / 600).toFixed(0)}% of 10 min), ${hPer.toFixed(2)} ms per node-round = ${(hPer / pPer).toFixed(2)}× aggregator mode's; virtual round ${(h.virtualSeconds / h.completedRounds).toFixed(1)} s vs ${(p.virtualSeconds / p.completedRounds).toFixed(1)} s`)
  return out
}
