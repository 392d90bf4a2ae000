// Node-side differential privacy in the simulator: applied before compression by every node,
// reproducible from the seed, and its ε reported from the same accountant as the daemon's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Simulation } from '../../src/sim/sim.js'
import { SyntheticBackend } from '../../src/sim/backend.js'
import { DEFAULT_SIM_CONFIG, validateSimConfig, type SimConfig } from '../../src/sim/config.js'
import { epsilonFor } from '../../src/privacy/index.js'
import { createLayout } from '../../src/tensor/index.js'
import { createRoundConfig, RoundEngine, RoundErrorCode } from '../../src/round/index.js'

const base: SimConfig = { ...DEFAULT_SIM_CONFIG, nodes: 6, rounds: 3, innerSteps: 5, synthetic: true, syntheticParams: 1000, baselines: false, codec: 'fp32', deadlineMs: 4000 }

async function run (over: Partial<SimConfig>): Promise<Awaited<ReturnType<Simulation['run']>>> {
  const cfg = validateSimConfig({ ...base, ...over })
  return await new Simulation(cfg, new SyntheticBackend(cfg.syntheticParams, cfg.seed)).run()
}

test('with clip and noise every round still commits, ε is the accountant\'s for one release per round, and the run reproduces', async () => {
  const dp = { dpClipNorm: 0.01, dpNoiseMultiplier: 1.1, dpDelta: 1e-5 }
  const a = await run(dp)
  const b = await run(dp)
  const plain = await run({})
  assert.equal(a.completedRounds, 3)
  assert.equal(plain.privacy, null)
  assert.deepEqual(a.privacy, { epsilon: epsilonFor({ noiseMultiplier: 1.1, steps: 3, delta: 1e-5 }).epsilon, delta: 1e-5, clipNorm: 0.01, noiseMultiplier: 1.1, releases: 3 })
  assert.ok(a.privacy!.epsilon > 0 && Number.isFinite(a.privacy!.epsilon))
  assert.deepEqual(a.rounds.map(r => r.bytes), b.rounds.map(r => r.bytes), 'same seed, same run')
  // the noise reaches the model: round 0's committed model differs from the run without it
  const model0 = async (over: Partial<SimConfig>): Promise<string> => {
    const cfg = validateSimConfig({ ...base, ...over, rounds: 1 })
    let id = ''
    await new Simulation(cfg, new SyntheticBackend(cfg.syntheticParams, cfg.seed), undefined, { observe: (_, e) => { if (e.type === 'applied') id = e.state.modelId } }).run()
    return id
  }
  assert.notEqual(await model0(dp), await model0({}))
  assert.equal(await model0(dp), await model0(dp))
})

test('an engine configured for privacy without a noise source is refused at construction', () => {
  const layout = createLayout([{ name: 'w', shape: [4] }])
  const cfg = createRoundConfig({ runId: 'r', privacy: { clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, sampleRate: 1 } })
  const chain = { round: 0, modelId: 'm', params: new Float32Array(4), outer: { step: 0, velocity: null }, electorate: [{ peerId: 'a', capacity: 1 }] }
  assert.throws(() => new RoundEngine(cfg, layout, { self: 'a', digest: () => 'x' }, { chain, codec: {} }), { code: RoundErrorCode.BadConfig })
  assert.throws(() => createRoundConfig({ runId: 'r', privacy: { clipNorm: -1, noiseMultiplier: 1, delta: 1e-5, sampleRate: 1 } }), { code: RoundErrorCode.BadConfig, field: 'privacy' })
})
