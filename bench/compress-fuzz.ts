// Long fuzz run of the update decoders: 100,000 mutated payloads per codec (the test suite
// runs 10,000). Run: node dist/bench/compress-fuzz.js [cases] [seed] [--json]
import { pathToFileURL } from 'node:url'
import { FUZZ_SPECS, fuzzSpec, type FuzzReport } from '../test/compress/fuzz-harness.js'

export interface FuzzCompressOptions {
  json: boolean
  /** mutated payloads per codec @default 100_000 */
  cases?: number
  /** @default 2027 (the test suite uses 2026, so this run covers other inputs) */
  seed?: number
}

/** Fuzzes every codec; resolves with the reports, rejects if any input escaped the typed errors. */
export async function fuzzCompress (opts: FuzzCompressOptions): Promise<{ reports: FuzzReport[], failures: number }> {
  const cases = opts.cases ?? 100_000
  const seed = opts.seed ?? 2027
  const reports: FuzzReport[] = []
  for (const spec of FUZZ_SPECS) {
    const r = fuzzSpec(spec, cases, seed)
    reports.push(r)
    if (!opts.json) {
      const codes = Object.entries(r.rejected).sort((a, b) => b[1] - a[1]).map(([c, k]) => `${c}=${k}`).join(' ')
      process.stdout.write(`${spec.padEnd(30)} ${cases} cases ${(r.ms / 1000).toFixed(1)} s  decoded=${r.decoded} ${codes}` +
        `${r.failures.length > 0 ? `  FAILURES: ${r.failures.join('; ')}` : ''}\n`)
    }
    // let an outer runner print or abort between codecs
    await new Promise(resolve => setImmediate(resolve))
  }
  const failures = reports.reduce((a, r) => a + r.failures.length, 0)
  if (failures > 0) throw new Error(`compress fuzz: ${failures} inputs escaped the typed errors`)
  return { reports, failures }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const nums = args.filter(a => !a.startsWith('--')).map(Number)
  const json = args.includes('--json')
  const result = await fuzzCompress({ json, cases: nums[0], seed: nums[1] })
  if (json) process.stdout.write(JSON.stringify(result) + '\n')
}
