// Fast fuzz: 10,000 mutated payloads per codec, seeded. Only typed CompressErrors or finite
// vectors of the right length may come out (bench/compress-fuzz.ts runs 100,000 per codec).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FUZZ_SPECS, fuzzSpec } from './fuzz-harness.js'

const CASES = 10_000

for (const spec of FUZZ_SPECS) {
  test(`fuzz ${spec}: ${CASES} mutated payloads give typed errors or finite vectors`, () => {
    const report = fuzzSpec(spec, CASES, 2026)
    assert.deepEqual(report.failures, [], `${spec}: ${report.failures.join('\n')}`)
    assert.equal(report.decoded + Object.values(report.rejected).reduce((a, b) => a + b, 0), CASES)
    // the mutations must reach the payload decoder, not just bounce off the envelope
    const deep = ['ERR_COMPRESS_TRUNCATED', 'ERR_COMPRESS_TRAILING_BYTES', 'ERR_COMPRESS_NON_FINITE', 'ERR_COMPRESS_MALFORMED'].filter(c => (report.rejected[c] ?? 0) > 0)
    assert.ok(deep.length >= 2, `${spec}: only reached ${JSON.stringify(report.rejected)}`)
  })
}
