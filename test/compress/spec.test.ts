// Spec grammar: canonical forms, defaults, and ERR_COMPRESS_BAD_SPEC for everything else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parseSpec, parseCanonicalSpec, formatSpec, CompressError, VALUE_CODEC_IDS, DEFAULT_BLOCK } from '../../src/compress/index.js'

test('canonical specs parse to themselves', () => {
  for (const s of ['fp32', 'fp16', 'int8', 'q8', 'q4', 'q2', 'q1', 'topk:0.01+q2', 'topk:0.03+q4', 'topk:0.01:chunk=4096+q4',
    'topk:0.01+q4:block=64:round=stoch', 'int8:block=1024', 'topk:1+fp32', 'topk:1e-7+q8', 'topk:0.5+int8:round=stoch']) {
    assert.equal(parseSpec(s).text, s)
    assert.equal(parseCanonicalSpec(s).text, s)
  }
})

test('defaults are filled in and dropped from the canonical text', () => {
  const s = parseSpec('topk:0.010+q2:block=256:round=near')
  assert.deepEqual(s.topk, { fraction: 0.01, chunk: undefined })
  assert.deepEqual(s.values, { id: 'q2', block: DEFAULT_BLOCK, rounding: 'near' })
  assert.equal(s.text, 'topk:0.01+q2')
  assert.equal(parseSpec('topk:0.01').text, 'topk:0.01+fp32')
  assert.equal(parseSpec('fp16').values.block, 0)
})

test('non-canonical text is refused where canonical is required (one encoding per update)', () => {
  for (const s of ['topk:0.010+q2', 'q2:block=256', 'topk:0.01', 'int8:round=near', 'topk:.5+q4']) {
    assert.throws(() => parseCanonicalSpec(s), (e: unknown) => e instanceof CompressError && e.code === 'ERR_COMPRESS_BAD_SPEC')
  }
})

test('bad specs throw ERR_COMPRESS_BAD_SPEC with a reason', () => {
  const bad = ['', 'fp64', 'topk', 'topk:', 'topk:0', 'topk:1.5', 'topk:-0.1+q2', 'topk:abc+q2', 'topk:NaN+q2', 'topk:Infinity',
    'topk:0.01+q3', 'q2+topk:0.01', 'topk:0.1+topk:0.1', 'topk:0.1+q2+q4', 'q4:block=8', 'q4:block=70000', 'q4:block=0x10',
    'q4:block=', 'q4:=3', 'q4:foo=1', 'q1:round=stoch', 'fp16:block=256', 'fp32:round=stoch', 'q4:round=up', 'q4:block=64:block=64',
    'topk:0.1:chunk=8+q2', 'topk:0.1:size=64+q2', 'topk:0.1:chunk=64:chunk=64', 'Q4', ' q4', 'q4 ', 'topk:0.01+', '+q4',
    'topk:1e+0+q2', 'x'.repeat(65), 'topk:0.01:chunk=4096+q4:block=256:round=stoch:' + 'x'.repeat(30)]
  for (const s of bad) {
    assert.throws(() => parseSpec(s), (e: unknown) => {
      assert.ok(e instanceof CompressError, `${s}: ${String(e)}`)
      assert.equal(e.code, 'ERR_COMPRESS_BAD_SPEC', s)
      assert.equal(typeof e.detail.reason, 'string')
      return true
    }, s)
  }
})

test('format ∘ parse is idempotent over generated specs', () => {
  const arb = fc.record({
    topk: fc.option(fc.record({
      fraction: fc.double({ min: 1e-6, max: 1, noNaN: true }).filter(f => f > 0),
      chunk: fc.option(fc.integer({ min: 16, max: 1 << 24 }), { nil: undefined })
    }), { nil: undefined }),
    id: fc.constantFrom(...VALUE_CODEC_IDS),
    block: fc.integer({ min: 16, max: 65536 }),
    stoch: fc.boolean()
  })
  fc.assert(fc.property(arb, ({ topk, id, block, stoch }) => {
    const blocked = !['fp32', 'fp16'].includes(id)
    const values = { id, block: blocked ? block : 0, rounding: (stoch && blocked && id !== 'q1' ? 'stoch' : 'near') as 'stoch' | 'near' }
    const text = formatSpec(topk, values)
    if (text.length > 64) return
    const parsed = parseSpec(text)
    assert.equal(parsed.text, text)
    assert.deepEqual(parsed.values, values)
    assert.equal(parsed.topk?.fraction, topk?.fraction)
    assert.equal(parsed.topk?.chunk, topk?.chunk)
  }), { seed: 42, numRuns: 500 })
})

test('arbitrary strings either parse or throw ERR_COMPRESS_BAD_SPEC', () => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), s => {
    try {
      parseSpec(s)
    } catch (e) {
      assert.ok(e instanceof CompressError && e.code === 'ERR_COMPRESS_BAD_SPEC')
    }
  }), { seed: 7, numRuns: 2000 })
})
