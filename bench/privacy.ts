// `npm run bench -- privacy [--sigmas=0.5,1,2] [--clip=C]`: what a given ε costs in accuracy. The same
// simulated run (MNIST, Dirichlet 0.5) with node-side clip + Gaussian noise at several noise
// multipliers, next to the run without privacy measured in the same process.
import { DEFAULT_SIM_CONFIG, validateSimConfig, type SimConfig } from '../src/sim/config.js'
import { runExperiment } from '../src/sim/experiment.js'

const arg = (name: string): string | undefined => process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3)

export async function benchPrivacy (opts: { json: boolean }): Promise<object> {
  const say = (s: string): void => { if (!opts.json) process.stdout.write(s + '\n') }
  const sigmas = (arg('sigmas') ?? '0.5,1,2').split(',').map(Number)
  const clip = Number(arg('clip') ?? '1')
  const base: SimConfig = { ...DEFAULT_SIM_CONFIG, nodes: 8, rounds: 10, innerSteps: 20, baselines: false, evalEvery: 10 }
  const runOf = async (over: Partial<SimConfig>): Promise<{ accuracy: number, epsilon: number | null }> => {
    const r = (await runExperiment(validateSimConfig({ ...base, ...over }), undefined, { device: 'cpu' })).runs[0]
    return { accuracy: r.final.accuracy ?? NaN, epsilon: r.privacy?.epsilon ?? null }
  }
  const plain = await runOf({})
  say(`no privacy: accuracy ${(100 * plain.accuracy).toFixed(2)}% (8 nodes, Dirichlet 0.5, 10 rounds × 20 steps, ${base.codec})`)
  const rows: Array<{ sigma: number, clip: number, epsilon: number | null, accuracy: number, accuracyRatio: number }> = []
  for (const sigma of sigmas) {
    const r = await runOf({ dpClipNorm: clip, dpNoiseMultiplier: sigma, dpDelta: 1e-5 })
    rows.push({ sigma, clip, epsilon: r.epsilon, accuracy: r.accuracy, accuracyRatio: r.accuracy / plain.accuracy })
    say(`σ ${sigma}, clip ${clip}: ε = ${r.epsilon?.toFixed(2) ?? '∞'} at δ 1e-5 over 10 releases → accuracy ${(100 * r.accuracy).toFixed(2)}% = ${(r.accuracy / plain.accuracy).toFixed(3)}× the run without privacy`)
  }
  return { bench: 'privacy', nodes: 8, rounds: 10, innerSteps: 20, plainAccuracy: plain.accuracy, rows }
}
