// encodeUpdate / decodeUpdate end to end: round trips, determinism, purity, stated top-k
// bounds, size targets, the ratio estimate, and error feedback over 100 rounds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  encodeUpdate, decodeUpdate, updateNorm, estimateRatio, parseSpec, selectTopk, CompressError,
  TOPK_VALUES_REL_L2, TOPK_TOTAL_REL_L2, type CodecState
} from '../../src/compress/index.js'
import { createLayout } from '../../src/tensor/layout.js'
import { l2Norm } from '../../src/aggregate/index.js'
import { Rng } from '../../src/tensor/rng.js'
import { bitEqual, gaussian, heavyTailed, layoutOf, norm, relL2 } from './helpers.js'

const SPECS = ['fp32', 'fp16', 'int8', 'q8', 'q4', 'q2', 'q1', 'int8:round=stoch', 'q4:block=64:round=stoch',
  'topk:0.01+q2', 'topk:0.01+q4', 'topk:0.03+q2', 'topk:0.01+q8', 'topk:0.01+q1', 'topk:0.01+fp32', 'topk:0.01+fp16',
  'topk:0.01+int8', 'topk:0.01:chunk=4096+q4', 'topk:0.05:chunk=100+q2:block=16', 'topk:0.01+q4:round=stoch', 'topk:1+q8']

const layout = createLayout([{ name: 'l1.w', shape: [300, 100] }, { name: 'l1.b', shape: [100] }, { name: 'l2.w', shape: [100, 10] }])
const N = layout.total

test('every spec round-trips: the decoder reconstructs exactly `sent`', () => {
  const x = gaussian(N, 1)
  for (const spec of SPECS) {
    const { bytes, sent } = encodeUpdate(spec, x, layout, { seed: 3 })
    const d = decodeUpdate(bytes, layout)
    assert.equal(d.spec, parseSpec(spec).text)
    assert.ok(bitEqual(d.vector, sent), spec)
    assert.ok(d.vector.every(Number.isFinite))
  }
})

test('encode is deterministic and leaves the caller\'s arrays alone', () => {
  const x = gaussian(N, 2)
  const r = gaussian(N, 3, 0.1)
  const xCopy = x.slice()
  const rCopy = r.slice()
  for (const spec of SPECS) {
    const a = encodeUpdate(spec, x, layout, { residual: r, seed: 9, round: 4 })
    const b = encodeUpdate(spec, x, layout, { residual: r, seed: 9, round: 4 })
    assert.deepEqual(a.bytes, b.bytes, spec)
    assert.ok(bitEqual(a.state.residual!, b.state.residual!))
    assert.equal(a.state.round, 5)
    assert.ok(bitEqual(x, xCopy) && bitEqual(r, rCopy), `${spec} mutated its input`)
  }
})

test('inPlace reuses the residual buffer and changes nothing else', () => {
  const x = gaussian(N, 4)
  for (const spec of ['topk:0.01+q2', 'int8', 'topk:0.05:chunk=100+q4']) {
    const r1 = gaussian(N, 5, 0.2)
    const r2 = r1.slice()
    const a = encodeUpdate(spec, x, layout, { residual: r1 })
    const b = encodeUpdate(spec, x, layout, { residual: r2 }, { inPlace: true })
    assert.deepEqual(a.bytes, b.bytes)
    assert.equal(b.state.residual, r2)
    assert.ok(bitEqual(a.state.residual!, r2))
  }
})

test('sentBuffer recycles a buffer for `sent` and changes nothing else', () => {
  const x = gaussian(N, 14)
  for (const spec of ['topk:0.01+q2', 'q4', 'topk:0.05:chunk=100+q4']) {
    const a = encodeUpdate(spec, x, layout, {})
    const buf = gaussian(N, 15) // stale content must not leak into `sent`
    const b = encodeUpdate(spec, x, layout, {}, { sentBuffer: buf })
    assert.equal(b.sent, buf)
    assert.ok(bitEqual(a.sent, b.sent))
    assert.deepEqual(a.bytes, b.bytes)
  }
  assert.throws(() => encodeUpdate('fp16', x, layout, {}, { sentBuffer: x }), (e: unknown) => e instanceof CompressError && e.code === 'ERR_COMPRESS_BAD_INPUT')
})

test('the residual is exactly (vector + residual) − sent (small, and large enough for the fused pass)', () => {
  for (const lay of [layout, layoutOf(150_000)]) {
    const n = lay.total
    const x = gaussian(n, 6)
    const r = gaussian(n, 7, 0.5)
    for (const spec of lay === layout ? SPECS : ['topk:0.01+q2', 'topk:0.03+q4', 'topk:0.01:chunk=4096+q4', 'int8']) {
      const { bytes, sent, state } = encodeUpdate(spec, x, lay, { residual: r, seed: 1 })
      assert.ok(bitEqual(decodeUpdate(bytes, lay).vector, sent), spec)
      for (let i = 0; i < n; i++) {
        if (state.residual![i] !== Math.fround(Math.fround(x[i] + r[i]) - sent[i])) assert.fail(`${spec}: residual[${i}]`)
      }
    }
  }
})

test('round and peer metadata travel in the envelope', () => {
  const peer = new Uint8Array([1, 2, 3])
  const { bytes } = encodeUpdate('topk:0.01+q2', gaussian(N, 8), layout, {}, { round: 17, peer })
  const d = decodeUpdate(bytes, layout)
  assert.equal(d.round, 17n)
  assert.deepEqual(d.peer, peer)
  assert.equal(decodeUpdate(encodeUpdate('fp16', gaussian(N, 8), layout).bytes, layout).round, undefined)
})

test('edge layouts: one element, all zeros, empty', () => {
  const one = layoutOf(1)
  for (const spec of SPECS) {
    const { bytes, sent } = encodeUpdate(spec, Float32Array.of(-3.5), one)
    assert.ok(bitEqual(decodeUpdate(bytes, one).vector, sent))
    const zeros = new Float32Array(N)
    const z = encodeUpdate(spec, zeros, layout)
    assert.ok(bitEqual(decodeUpdate(z.bytes, layout).vector, z.sent))
  }
  const empty = createLayout([])
  for (const spec of ['fp32', 'topk:0.01+q2']) {
    const { bytes } = encodeUpdate(spec, new Float32Array(0), empty)
    assert.equal(decodeUpdate(bytes, empty).vector.length, 0)
  }
})

test('bad encoder input is ERR_COMPRESS_BAD_INPUT', () => {
  const isBadInput = (e: unknown): boolean => e instanceof CompressError && e.code === 'ERR_COMPRESS_BAD_INPUT'
  assert.throws(() => encodeUpdate('fp16', new Float32Array(N - 1), layout), isBadInput)
  assert.throws(() => encodeUpdate('fp16', new Float32Array(N), layout, { residual: new Float32Array(3) }), isBadInput)
  for (const spec of ['fp32', 'int8', 'topk:0.01+q2', 'topk:0.05:chunk=100+q2']) {
    for (const bad of [NaN, Infinity]) {
      const x = gaussian(N, 9)
      x[123] = bad
      assert.throws(() => encodeUpdate(spec, x, layout), isBadInput, spec)
    }
  }
  assert.throws(() => encodeUpdate('q3', new Float32Array(N), layout), (e: unknown) => e instanceof CompressError && e.code === 'ERR_COMPRESS_BAD_SPEC')
})

test('top-k specs stay within the stated bounds on N(0,1)', () => {
  const n = 100_000
  const big = layoutOf(n)
  for (const seed of [1, 2]) {
    const x = gaussian(n, seed)
    for (const id of ['fp32', 'fp16', 'int8', 'q8', 'q4', 'q2', 'q1'] as const) {
      const spec = `topk:0.01+${id}`
      const { sent } = encodeUpdate(spec, x, big)
      const idx = selectTopk(x, parseSpec(spec).topk!)
      const kept = relL2(Array.from(idx, i => sent[i]), Array.from(idx, i => x[i]))
      assert.ok(kept <= TOPK_VALUES_REL_L2[id], `${spec}: kept-value relL2 ${kept} > ${TOPK_VALUES_REL_L2[id]}`)
      assert.ok(relL2(sent, x) <= TOPK_TOTAL_REL_L2[0.01], spec)
    }
    assert.ok(relL2(encodeUpdate('topk:0.03+q2', x, big).sent, x) <= TOPK_TOTAL_REL_L2[0.03])
  }
})

test('size: topk:0.01+q2 is ≥ 150× smaller than fp32, and estimateRatio is within 10%', () => {
  const n = 1_000_000
  const big = layoutOf(n)
  const x = gaussian(n, 10)
  const ratio = (spec: string): number => 4 * n / encodeUpdate(spec, x, big).bytes.length
  assert.ok(ratio('topk:0.01+q2') >= 150, `topk:0.01+q2 ratio ${ratio('topk:0.01+q2')}`)
  for (const spec of ['fp32', 'fp16', 'int8', 'q4', 'topk:0.01+q2', 'topk:0.01+q4', 'topk:0.03+q2', 'topk:0.001+q8', 'topk:0.3+fp16']) {
    const actual = ratio(spec)
    const est = estimateRatio(spec, n)
    assert.ok(Math.abs(est / actual - 1) < 0.1, `${spec}: estimate ${est} vs actual ${actual}`)
  }
})

/** Runs `rounds` of x_t = drift·g + N(0,1) through spec with and without error feedback. */
function feedback (spec: string, n: number, rounds: number, drift: number): { ef: number, noEf: number, rNorms: number[], xNorm: number } {
  const lay = layoutOf(n)
  const g = gaussian(n, 100)
  const rng = new Rng(101)
  const sumX = new Float64Array(n)
  const sumEf = new Float64Array(n)
  const sumNo = new Float64Array(n)
  let state: CodecState = { seed: 5 }
  const rNorms: number[] = []
  let xNorm = 0
  for (let t = 0; t < rounds; t++) {
    const x = new Float32Array(n)
    for (let i = 0; i < n; i++) x[i] = drift * g[i] + rng.normal()
    xNorm = Math.max(xNorm, norm(x))
    const ef = encodeUpdate(spec, x, lay, state)
    state = ef.state
    const no = encodeUpdate(spec, x, lay, {})
    for (let i = 0; i < n; i++) { sumX[i] += x[i]; sumEf[i] += ef.sent[i]; sumNo[i] += no.sent[i] }
    rNorms.push(norm(state.residual!))
  }
  // Σ x − Σ sent = final residual: the identity error feedback maintains
  const gap = sumX.map((v, i) => v - sumEf[i])
  assert.ok(relL2(state.residual!, gap) < 1e-4)
  return { ef: relL2(sumEf, sumX), noEf: relL2(sumNo, sumX), rNorms, xNorm }
}

test('error feedback: over 100 rounds the sent sum tracks the true sum and the residual stays bounded', () => {
  const a = feedback('topk:0.01+q2', 20_000, 100, 0.3)
  assert.ok(a.ef < 0.4 && a.noEf > 0.85, `topk:0.01+q2 sum error with EF ${a.ef}, without ${a.noEf}`)
  // without a bound the residual would grow like t·|x|; it stays within a fixed multiple
  assert.ok(Math.max(...a.rNorms) < 12 * a.xNorm, `max |r| ${Math.max(...a.rNorms)} vs |x| ${a.xNorm}`)
  const b = feedback('topk:0.03+q2', 20_000, 100, 0.3)
  assert.ok(b.ef < 0.2 && b.noEf > 0.75, `topk:0.03+q2 sum error with EF ${b.ef}, without ${b.noEf}`)
  // plateau: the residual at round 100 is no larger than at round 50
  assert.ok(b.rNorms[99] < 1.1 * b.rNorms[49], `|r50| ${b.rNorms[49]} |r100| ${b.rNorms[99]}`)
  // quantization error feeds back too: dense q2 sums become nearly exact
  const c = feedback('q2', 5_000, 100, 0.3)
  assert.ok(c.ef < 0.03 && c.noEf > 0.1, `q2 sum error with EF ${c.ef}, without ${c.noEf}`)
})

test('heavy-tailed vectors round-trip for every spec', () => {
  const x = heavyTailed(N, 11)
  for (const spec of SPECS) {
    const { bytes, sent } = encodeUpdate(spec, x, layout, { seed: 2 })
    assert.ok(bitEqual(decodeUpdate(bytes, layout).vector, sent), spec)
  }
})

test('accumulateUpdate adds weight · update, and leaves the accumulator alone on bad input', async () => {
  const { accumulateUpdate, createCodec } = await import('../../src/compress/index.js')
  const x = gaussian(N, 12)
  for (const spec of ['topk:0.01+q4', 'int8', 'fp16']) {
    const codec = createCodec(spec, layout)
    const { bytes, sent } = codec.encode(x)
    const into = gaussian(N, 13)
    const before = into.slice()
    const meta = accumulateUpdate(bytes, layout, into, 0.25)
    assert.equal(meta.spec, codec.spec)
    for (let i = 0; i < N; i++) assert.equal(into[i], Math.fround(before[i] + 0.25 * sent[i]))
    assert.ok(bitEqual(codec.decode(bytes).vector, sent))
    assert.ok(Math.abs(codec.estimateRatio() / (4 * N / bytes.length) - 1) < 0.15)
    const broken = bytes.slice(0, bytes.length - 1)
    const untouched = into.slice()
    assert.throws(() => accumulateUpdate(broken, layout, into), (e: unknown) => e instanceof CompressError)
    assert.ok(bitEqual(into, untouched))
  }
})

test('the value-codec registry is keyed by each codec\'s own id', async () => {
  const { VALUE_CODECS, VALUE_CODEC_IDS } = await import('../../src/compress/index.js')
  assert.deepEqual(Object.keys(VALUE_CODECS).sort(), [...VALUE_CODEC_IDS].sort())
  for (const id of VALUE_CODEC_IDS) assert.equal(VALUE_CODECS[id].id, id)
})

test('src/compress is pure: it imports no node: modules', async () => {
  const { readdir, readFile } = await import('node:fs/promises')
  const { fileURLToPath } = await import('node:url')
  // the compiled twin of src/compress sits at the same relative place from this test
  const dir = fileURLToPath(new URL('../../src/compress/', import.meta.url))
  const files = (await readdir(dir, { recursive: true })).filter(f => f.endsWith('.js'))
  assert.ok(files.length >= 10)
  for (const f of files) {
    const text = await readFile(dir + f, 'utf8')
    assert.ok(!/from ['"]node:/.test(text) && !/import\(['"]node:/.test(text), `${f} imports a node: module`)
  }
})

test('updateNorm equals the L2 norm of the decoded vector, bit for bit, dense and sparse', () => {
  const layout = createLayout([{ name: 'w', shape: [5000] }])
  const rng = new Rng(3)
  const v = new Float32Array(layout.total).map(() => rng.normal())
  for (const spec of ['fp32', 'int8', 'topk:0.01+q4', 'topk:0.1+fp16']) {
    const bytes = encodeUpdate(spec, v, layout).bytes
    assert.equal(updateNorm(bytes, layout), l2Norm(decodeUpdate(bytes, layout).vector), spec)
  }
})
