// Benchmark runner: `npm run bench -- <name> [--json]`; each bench prints ratios against a peer or limit.
import { benchTrain } from './train.js'

type Bench = (opts: { json: boolean }) => Promise<object>

const BENCHES: Record<string, () => Promise<Bench>> = {
  train: async () => benchTrain,
  compress: async () => (await import('./compress-run.js')).benchCompressWithPseudoGradient,
  sim: async () => (await import('./sim.js')).benchSim,
  net: async () => (await import('./net.js')).benchNet,
  rounds: async () => (await import('./round-overhead.js')).benchRounds,
  storage: async () => (await import('./storage.js')).benchStorage,
  crash: async () => (await import('./crash.js')).benchCrash,
  privacy: async () => (await import('./privacy.js')).benchPrivacy,
  byzantine: async () => (await import('./byzantine.js')).benchByzantine,
  links: async () => (await import('./links.js')).benchLinks,
  cli: async () => (await import('./cli-help.js')).benchCliHelp
}

const args = process.argv.slice(2)
const json = args.includes('--json')
// `train --model gpt` (or --model=gpt) picks the GPT recipe's benchmark
const modelAt = args.indexOf('--model')
const model = modelAt >= 0 ? args[modelAt + 1] : args.find(a => a.startsWith('--model='))?.slice(8)
if (model === 'gpt') BENCHES.train = async () => (await import('./train-gpt.js')).benchTrainGpt
else if (model !== undefined && model !== 'mlp') { process.stderr.write(`bench train: --model must be mlp or gpt, got ${model}\n`); process.exit(2) }
const names = args.filter((a, i) => !a.startsWith('--') && !(modelAt >= 0 && i === modelAt + 1))
if (names.length === 0 || names.some(n => BENCHES[n] == null)) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [--json]\n`)
  process.exit(2)
}
for (const name of names) {
  const result = await (await BENCHES[name]())({ json })
  if (json) process.stdout.write(JSON.stringify(result) + '\n')
}
