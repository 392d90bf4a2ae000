// LSB-first bit packing (index deltas): round trips at every width, the documented bit order,
// and refusal of non-zero padding.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { packBits, unpackBits, packedBytes, bitWidth } from '../../src/compress/bits.js'
import { CompressError } from '../../src/compress/errors.js'

test('pack/unpack round-trips at every width 0–31 (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 31 }), fc.array(fc.nat(), { maxLength: 300 }), fc.nat(3), (width, raw, start) => {
    const mask = width === 0 ? 0 : width === 32 ? 0xffffffff : (2 ** width) - 1
    const values = Uint32Array.from([...Array(start).fill(7), ...raw.map(v => v % (mask + 1))])
    const count = values.length - start
    const out = new Uint8Array(packedBytes(count, width) + 2)
    assert.equal(packBits(values, start, count, width, out, 1), packedBytes(count, width))
    const back = new Uint32Array(count)
    unpackBits(out, 1, count, width, back, 0, 'test')
    assert.deepEqual([...back], [...values.subarray(start)])
  }), { seed: 8, numRuns: 600 })
})

test('bit order is LSB-first across byte boundaries', () => {
  const out = new Uint8Array(2)
  packBits(Uint32Array.of(0b101, 0b011, 0b110), 0, 3, 3, out, 0)
  // stream: 101 | 011 | 110 from bit 0 up → byte0 = 0b10_011_101, byte1 = 0b0000000_1
  assert.deepEqual([...out], [0b10011101, 0b00000001])
  const wide = new Uint8Array(8)
  packBits(Uint32Array.of(0x7fffffff, 1), 0, 2, 31, wide, 0)
  // 31 ones, then the second field's 1 lands on stream bit 31
  assert.deepEqual([...wide], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
  assert.equal(bitWidth(0), 0)
  assert.equal(bitWidth(1), 1)
  assert.equal(bitWidth(0x7fffffff), 31)
})

test('non-zero padding bits are ERR_COMPRESS_MALFORMED, narrow and wide', () => {
  for (const width of [3, 29]) {
    const out = new Uint8Array(packedBytes(3, width))
    packBits(Uint32Array.of(1, 2, 3), 0, 3, width, out, 0)
    out[out.length - 1] |= 0x80
    assert.throws(() => unpackBits(out, 0, 3, width, new Uint32Array(3), 0, 'test'),
      (e: unknown) => e instanceof CompressError && e.code === 'ERR_COMPRESS_MALFORMED')
  }
})
