// Value codecs in isolation: half conversion, per-element / per-block guarantees on any input,
// unbiased stochastic rounding, and the stated Gaussian bounds for dense specs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { VALUE_CODECS, parseSpec, DENSE_REL_L2, encodeUpdate } from '../../src/compress/index.js'
import { toHalfBits, fromHalfBits, floatsToHalf, HAS_NATIVE_HALF, HALF_MAX } from '../../src/compress/values/half.js'
import { Rng } from '../../src/tensor/rng.js'
import { gaussian, heavyTailed, layoutOf, relL2 } from './helpers.js'

function roundtrip (specText: string, values: Float32Array, seed?: number): { bytes: Uint8Array, out: Float32Array } {
  const spec = parseSpec(specText).values
  const codec = VALUE_CODECS[spec.id]
  const bytes = new Uint8Array(codec.byteLength(values.length, spec))
  codec.encode(values, spec, seed === undefined ? undefined : new Rng(seed), bytes, 0)
  const out = new Float32Array(values.length)
  codec.decode(bytes, 0, values.length, spec, out)
  return { bytes, out }
}

test('software half conversion is exact and agrees with the native one', () => {
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue // NaN payloads
    assert.equal(toHalfBits(fromHalfBits(h)), h)
  }
  // ties to even at the boundary between two halves, overflow, underflow
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00)
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02)
  assert.equal(toHalfBits(65519), 0x7bff)
  assert.equal(toHalfBits(65520), 0x7c00)
  assert.equal(toHalfBits(2 ** -25), 0)
  assert.equal(toHalfBits(2 ** -25 * 1.5), 1)
  if (!HAS_NATIVE_HALF) return
  const rng = new Rng(2)
  const bits = new Uint32Array(200_000)
  for (let i = 0; i < bits.length; i++) bits[i] = rng.u32()
  const f = new Float32Array(bits.buffer).filter(x => !Number.isNaN(x))
  const native = new Uint16Array(f.length)
  floatsToHalf(f, f.length, native)
  for (let i = 0; i < f.length; i++) assert.equal(native[i], toHalfBits(f[i]), `x=${f[i]}`)
})

test('fp16: relative error ≤ 2^-11 in range, saturation beyond, exact zero', () => {
  const x = Float32Array.from([...heavyTailed(5000, 3), 0, -0, 65504, -65504, 1e6, -1e9, 3e38, 6.2e-5, -6.2e-5])
  const { out } = roundtrip('fp16', x)
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i])
    if (a > HALF_MAX) assert.equal(out[i], Math.sign(x[i]) * HALF_MAX)
    else if (a >= 2 ** -14) assert.ok(Math.abs(out[i] - x[i]) <= a * 2 ** -11, `${x[i]} → ${out[i]}`)
    else assert.ok(Math.abs(out[i] - x[i]) <= 2 ** -25)
  }
})

test('int8: |error| ≤ scale/2 per element on any finite input (property)', () => {
  fc.assert(fc.property(fc.float32Array({ noNaN: true, noDefaultInfinity: true, minLength: 1, maxLength: 700 }),
    fc.constantFrom(16, 64, 256), (x, block) => {
      const { out } = roundtrip(`int8:block=${block}`, x)
      for (let s = 0; s < x.length; s += block) {
        let absmax = 0
        for (let i = s; i < Math.min(x.length, s + block); i++) absmax = Math.max(absmax, Math.abs(x[i]))
        const scale = Math.fround(absmax / 127)
        for (let i = s; i < Math.min(x.length, s + block); i++) {
          // near float32 max the scale steps down by a few ulps so that 127·scale stays finite
          const bound = scale === 0 ? absmax : scale / 2 * (1 + 2 ** -20) + 1e-45 + (absmax > 3e38 ? absmax * 2 ** -22 : 0)
          assert.ok(Math.abs(out[i] - x[i]) <= bound, `x=${x[i]} out=${out[i]} scale=${scale}`)
        }
      }
    }), { seed: 3, numRuns: 300 })
})

/** Squared error of the uniform 2^(b−1)-level grid on [min|x|, max|x|] with signs kept. */
function minMaxGridSse (x: Float32Array, s: number, e: number, levels: number): number {
  let min = Infinity
  let max = 0
  for (let i = s; i < e; i++) { min = Math.min(min, Math.abs(x[i])); max = Math.max(max, Math.abs(x[i])) }
  let sse = 0
  if (levels === 1) {
    let mean = 0
    for (let i = s; i < e; i++) mean += Math.abs(x[i]) / (e - s)
    for (let i = s; i < e; i++) sse += (Math.abs(x[i]) - mean) ** 2
    return sse
  }
  const step = (max - min) / (levels - 1)
  for (let i = s; i < e; i++) {
    const m = Math.abs(x[i])
    const q = step === 0 ? min : min + Math.round((m - min) / step) * step
    sse += (m - q) ** 2
  }
  return sse
}

test('q8/q4/q2/q1 (near): each block beats the plain min–max grid (property)', () => {
  for (const [id, bits] of [['q8', 8], ['q4', 4], ['q2', 2], ['q1', 1]] as const) {
    fc.assert(fc.property(fc.float32Array({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30), minLength: 1, maxLength: 300 }),
      fc.constantFrom(16, 100), (x, block) => {
        const { out } = roundtrip(`${id}:block=${block}`, x)
        for (let s = 0; s < x.length; s += block) {
          const e = Math.min(x.length, s + block)
          let sse = 0
          let scale = 0
          for (let i = s; i < e; i++) {
            sse += (out[i] - x[i]) ** 2
            scale = Math.max(scale, Math.abs(x[i]))
            // the sign always survives (zero magnitude may decode to ±lo)
            if (x[i] !== 0 && out[i] !== 0) assert.equal(Math.sign(out[i]), Math.sign(x[i]))
          }
          const slack = 1e-5 * scale * scale * (e - s) + 1e-70
          assert.ok(sse <= minMaxGridSse(x, s, e, 1 << (bits - 1)) * (1 + 1e-5) + slack, `${id} block ${s}: ${sse}`)
        }
      }), { seed: 4, numRuns: 150 })
  }
})

test('stochastic rounding is unbiased (mean over seeds → x) and seed-deterministic', () => {
  const x = gaussian(512, 5)
  for (const spec of ['int8:round=stoch', 'q4:round=stoch', 'q2:round=stoch']) {
    const runs = 400
    const mean = new Float64Array(x.length)
    for (let seed = 0; seed < runs; seed++) {
      const { out } = roundtrip(spec, x, seed)
      for (let i = 0; i < x.length; i++) mean[i] += out[i] / runs
    }
    const { out: det } = roundtrip(spec.replace('stoch', 'near'), x)
    // bias of the mean shrinks like 1/sqrt(runs); nearest rounding's bias does not
    assert.ok(relL2(mean, x) < relL2(det, x) / 2 || relL2(mean, x) < 0.02, `${spec}: ${relL2(mean, x)} vs near ${relL2(det, x)}`)
    assert.deepEqual(roundtrip(spec, x, 7).bytes, roundtrip(spec, x, 7).bytes)
    assert.notDeepEqual(roundtrip(spec, x, 7).bytes, roundtrip(spec, x, 8).bytes)
  }
})

test('dense specs stay within the stated relative-L2 bounds on N(0,1)', () => {
  const n = 100_000
  const layout = layoutOf(n)
  for (const seed of [1, 2]) {
    const x = gaussian(n, seed)
    for (const id of ['fp32', 'fp16', 'int8', 'q8', 'q4', 'q2', 'q1'] as const) {
      const { sent } = encodeUpdate(id, x, layout, {})
      const err = relL2(sent, x)
      assert.ok(err <= DENSE_REL_L2[id], `${id}: relL2 ${err} > bound ${DENSE_REL_L2[id]}`)
    }
  }
})
