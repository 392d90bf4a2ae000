// Hand-made hostile inputs, one per failure class: each must end in its own stable code,
// before anything is allocated from the hostile number.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeUpdate, encodeUpdate, parseSpec, CompressError, type CompressErrorCode } from '../../src/compress/index.js'
import { writeEnvelope, ENVELOPE_VERSION } from '../../src/compress/envelope.js'
import { UpdateEnvelope } from '../../src/compress/wire/update.js'
import { packBits, writeU32 } from '../../src/compress/bits.js'
import { layoutHash, createLayout } from '../../src/tensor/layout.js'
import { gaussian, layoutOf } from './helpers.js'

const N = 1000
const layout = layoutOf(N)

function expectCode (code: CompressErrorCode, fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CompressError, `${what}: threw ${String(e)}`)
    assert.equal(e.code, code, `${what}: ${e.message}`)
    return true
  }, what)
}

/** Envelope around a hand-made payload, everything else valid. */
function wrap (spec: string, payload: Uint8Array): Uint8Array {
  return writeEnvelope(parseSpec(spec), layout, payload)
}

/** Sparse payload: k, one index block of `width`-bit deltas, then raw value bytes. */
function sparse (deltas: number[], width: number, values: Uint8Array, k = deltas.length): Uint8Array {
  const packed = new Uint8Array(Math.ceil(deltas.length * width / 8))
  packBits(Uint32Array.from(deltas), 0, deltas.length, width, packed, 0)
  const out = new Uint8Array(4 + 1 + packed.length + values.length)
  writeU32(out, 0, k)
  out[4] = width
  out.set(packed, 5)
  out.set(values, 5 + packed.length)
  return out
}

const f32bytes = (xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer)
const ten = (): number[] => [5, 10, 10, 10, 10, 10, 10, 10, 10, 10] // indices 4, 14, …, 94

test('a well-formed hand-made sparse payload decodes (the fixtures below are minimal edits of it)', () => {
  const v = decodeUpdate(wrap('topk:0.01+fp32', sparse(ten(), 4, f32bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))), layout).vector
  assert.equal(v[4], 1)
  assert.equal(v[94], 10)
  assert.equal(v.reduce((a, b) => a + b, 0), 55)
})

test('envelope: too large, not protobuf, wrong version, wrong layout', () => {
  const good = encodeUpdate('topk:0.01+q2', gaussian(N, 1), layout).bytes
  expectCode('ERR_COMPRESS_TOO_LARGE', () => decodeUpdate(good, layout, { maxBytes: good.length - 1 }), 'maxBytes')
  expectCode('ERR_COMPRESS_TOO_LARGE', () => decodeUpdate(new Uint8Array(6 * N + 4097), layout), 'default cap')
  expectCode('ERR_COMPRESS_BAD_ENVELOPE', () => decodeUpdate(good.subarray(0, good.length - 3), layout), 'cut inside the payload field')
  expectCode('ERR_COMPRESS_BAD_ENVELOPE', () => decodeUpdate(Uint8Array.of(0x0f), layout), 'wire type 7')
  expectCode('ERR_COMPRESS_BAD_ENVELOPE', () => decodeUpdate(Uint8Array.of(0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f), layout), 'payload length 2^32')
  const env = UpdateEnvelope.decode(good)
  expectCode('ERR_COMPRESS_VERSION', () => decodeUpdate(UpdateEnvelope.encode({ ...env, version: ENVELOPE_VERSION + 1 }), layout), 'version 2')
  expectCode('ERR_COMPRESS_VERSION', () => decodeUpdate(UpdateEnvelope.encode({ ...env, version: 0 }), layout), 'version missing')
  expectCode('ERR_COMPRESS_VERSION', () => decodeUpdate(new Uint8Array(0), layout), 'empty envelope')
  const other = createLayout([{ name: 'v', shape: [N] }])
  expectCode('ERR_COMPRESS_LAYOUT_MISMATCH', () => decodeUpdate(good, other), 'other layout, same size')
  expectCode('ERR_COMPRESS_LAYOUT_MISMATCH', () => decodeUpdate(UpdateEnvelope.encode({ ...env, layoutHash: env.layoutHash.subarray(0, 31) }), layout), 'short hash')
  expectCode('ERR_COMPRESS_LAYOUT_MISMATCH', () => decodeUpdate(UpdateEnvelope.encode({ ...env, total: BigInt(N + 1) }), layout), 'total + 1')
  expectCode('ERR_COMPRESS_LAYOUT_MISMATCH', () => decodeUpdate(UpdateEnvelope.encode({ ...env, total: 2n ** 64n - 1n }), layout), 'total 2^64 − 1')
  expectCode('ERR_COMPRESS_BAD_SPEC', () => decodeUpdate(UpdateEnvelope.encode({ ...env, codec: 'topk:0.010+q2' }), layout), 'non-canonical spec')
  expectCode('ERR_COMPRESS_BAD_SPEC', () => decodeUpdate(UpdateEnvelope.encode({ ...env, codec: 'zstd' }), layout), 'unknown codec')
  expectCode('ERR_COMPRESS_BAD_SPEC', () => decodeUpdate(UpdateEnvelope.encode({ ...env, codec: '' }), layout), 'no codec')
  // a layout hash is what refuses a same-sized model with other tensor names
  assert.notDeepEqual(layoutHash(other), layoutHash(layout))
})

test('dense payloads: truncated, trailing bytes, NaN/Inf, int8 −128, bad scales, padding bits', () => {
  const x = gaussian(N, 2)
  const payloadOf = (spec: string): Uint8Array => {
    const env = UpdateEnvelope.decode(encodeUpdate(spec, x, layout).bytes)
    return env.payload.slice()
  }
  for (const spec of ['fp32', 'fp16', 'int8', 'q4', 'q2:block=16']) {
    const p = payloadOf(spec)
    expectCode('ERR_COMPRESS_TRUNCATED', () => decodeUpdate(wrap(spec, p.subarray(0, p.length - 1)), layout), `${spec} − 1 byte`)
    expectCode('ERR_COMPRESS_TRUNCATED', () => decodeUpdate(wrap(spec, new Uint8Array(0)), layout), `${spec} empty`)
    expectCode('ERR_COMPRESS_TRAILING_BYTES', () => decodeUpdate(wrap(spec, Uint8Array.from([...p, 0])), layout), `${spec} + 1 byte`)
  }
  const fp32 = payloadOf('fp32')
  for (const bad of [NaN, Infinity, -Infinity]) {
    const p = fp32.slice()
    new DataView(p.buffer).setFloat32(4 * 500, bad, true)
    expectCode('ERR_COMPRESS_NON_FINITE', () => decodeUpdate(wrap('fp32', p), layout), `fp32 ${bad}`)
  }
  const fp16 = payloadOf('fp16')
  fp16[2 * 7 + 1] = 0x7c // exponent 31
  expectCode('ERR_COMPRESS_NON_FINITE', () => decodeUpdate(wrap('fp16', fp16), layout), 'fp16 Inf')
  const int8 = payloadOf('int8')
  const nb = Math.ceil(N / 256)
  int8[4 * nb + 3] = 0x80
  expectCode('ERR_COMPRESS_MALFORMED', () => decodeUpdate(wrap('int8', int8), layout), 'int8 −128')
  for (const scale of [NaN, Infinity, 3.4e38]) {
    const p = payloadOf('int8')
    new DataView(p.buffer).setFloat32(4, scale, true)
    expectCode('ERR_COMPRESS_NON_FINITE', () => decodeUpdate(wrap('int8', p), layout), `int8 scale ${scale}`)
  }
  for (const [off, v] of [[0, NaN], [4, Infinity], [4, 3e38]] as const) {
    const p = payloadOf('q4')
    new DataView(p.buffer).setFloat32(8 + off, v, true) // block 1: lo at +0, step at +4
    expectCode('ERR_COMPRESS_NON_FINITE', () => decodeUpdate(wrap('q4', p), layout), `q4 grid ${off} = ${v}`)
  }
  // 1000 values · 2 bits leave no padding; 1000 · 1 bit neither: use an odd-sized layout
  const odd = layoutOf(1001)
  const env = UpdateEnvelope.decode(encodeUpdate('q2', gaussian(1001, 3), odd).bytes)
  const p = env.payload.slice()
  p[p.length - 1] |= 0x80
  expectCode('ERR_COMPRESS_MALFORMED', () => decodeUpdate(writeEnvelope(parseSpec('q2'), odd, p), odd), 'q2 padding bits')
})

test('sparse payloads: counts, widths, indices, truncation', () => {
  const vals = f32bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  const spec = 'topk:0.01+fp32' // N = 1000 → at most 10 indices
  expectCode('ERR_COMPRESS_BAD_COUNT', () => decodeUpdate(wrap(spec, sparse([...ten(), 1], 4, f32bytes([...Array(11).keys()]))), layout), 'k = 11')
  expectCode('ERR_COMPRESS_BAD_COUNT', () => decodeUpdate(wrap(spec, sparse(ten(), 4, vals, 0xffffffff)), layout), 'k = 2^32 − 1')
  expectCode('ERR_COMPRESS_TRUNCATED', () => decodeUpdate(wrap(spec, Uint8Array.of(1, 0)), layout), 'k cut')
  expectCode('ERR_COMPRESS_TRUNCATED', () => decodeUpdate(wrap(spec, sparse(ten(), 4, vals.subarray(0, 39))), layout), 'values cut')
  // q1 values take 10 bytes, so 30 bytes pass the size pre-check but end inside the 39-byte index block
  expectCode('ERR_COMPRESS_TRUNCATED', () => decodeUpdate(wrap('topk:0.01+q1', sparse(ten(), 31, new Uint8Array(10)).subarray(0, 30)), layout), 'wide index block cut')
  expectCode('ERR_COMPRESS_TRAILING_BYTES', () => decodeUpdate(wrap(spec, Uint8Array.from([...sparse(ten(), 4, vals), 0])), layout), 'extra byte')
  expectCode('ERR_COMPRESS_MALFORMED', () => decodeUpdate(wrap(spec, sparse(ten(), 32, new Uint8Array(40 + 40))), layout), 'width 32')
  const d = ten()
  d[9] = 916 // 9th index is 84: 84 + 916 = 1000 = total
  expectCode('ERR_COMPRESS_INDEX_RANGE', () => decodeUpdate(wrap(spec, sparse(d, 11, vals)), layout), 'index ≥ total')
  expectCode('ERR_COMPRESS_INDEX_RANGE', () => decodeUpdate(wrap(spec, sparse([1001], 11, f32bytes([1]))), layout), 'first index ≥ total')
  const dup = ten()
  dup[5] = 0
  expectCode('ERR_COMPRESS_INDEX_ORDER', () => decodeUpdate(wrap(spec, sparse(dup, 4, vals)), layout), 'duplicate index')
  expectCode('ERR_COMPRESS_INDEX_ORDER', () => decodeUpdate(wrap(spec, sparse([0, 1], 4, f32bytes([1, 2]))), layout), 'first delta 0')
  const padded = sparse([1, 1, 1], 3, f32bytes([1, 2, 3])) // 9 bits → 7 padding bits
  padded[6] |= 0x80
  expectCode('ERR_COMPRESS_MALFORMED', () => decodeUpdate(wrap(spec, padded), layout), 'index padding bits')
  const nan = f32bytes([1, 2, NaN, 4, 5, 6, 7, 8, 9, 10])
  expectCode('ERR_COMPRESS_NON_FINITE', () => decodeUpdate(wrap(spec, sparse(ten(), 4, nan)), layout), 'NaN value')
})
