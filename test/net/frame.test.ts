// Stream framing over in-memory v3 stream pairs: caps, truncation, chunk boundaries, backpressure.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { StreamReader, encodeVarint, lengthPrefixed, sendChunked } from '../../src/net/frame.js'
import { NetErrorCode, isNetError } from '../../src/net/index.js'
import { bytesOf, waitFor } from './helpers.js'

function code (e: unknown): string {
  return isNetError(e) ? e.code : String(e)
}

describe('stream framing', () => {
  it('encodes varints like protobuf', () => {
    assert.deepEqual([...encodeVarint(0)], [0])
    assert.deepEqual([...encodeVarint(300)], [0xac, 0x02])
    assert.deepEqual([...encodeVarint(2 ** 32)], [0x80, 0x80, 0x80, 0x80, 0x10])
    assert.throws(() => encodeVarint(-1), (e: unknown) => code(e) === NetErrorCode.BAD_INPUT)
  })

  it('reads frames split across and packed into chunks', async () => {
    const [out, inn] = await streamPair()
    const reader = new StreamReader(inn)
    const frames = [bytesOf(1, 1), bytesOf(300, 2), new Uint8Array(0), bytesOf(70_000, 3)]
    const wire = new Uint8Array(frames.reduce((n, f) => n + lengthPrefixed(f).byteLength, 0))
    let off = 0
    for (const f of frames) { const lp = lengthPrefixed(f); wire.set(lp, off); off += lp.byteLength }
    // odd-sized pieces so prefixes and bodies straddle chunk edges
    for (let i = 0; i < wire.byteLength; i += 7) out.send(wire.subarray(i, i + 7))
    await out.close()
    for (const f of frames) {
      const got = await reader.readFrame(1 << 20)
      // compare bytes, not types: chunks may arrive as Buffers
      assert.ok(Buffer.from(got).equals(Buffer.from(f)), `frame of ${f.byteLength} bytes differs`)
    }
    assert.equal(await reader.readChunk(), undefined)
  })

  it('refuses a frame above the cap from its length alone', async () => {
    const [out, inn] = await streamPair()
    const reader = new StreamReader(inn)
    out.send(encodeVarint(2 ** 34)) // 16 GiB announced, no body
    await assert.rejects(reader.readFrame(1024), (e: unknown) => code(e) === NetErrorCode.OVERSIZED)
    out.abort(new Error('done'))
  })

  it('reports truncation inside a frame and a varint that never ends', async () => {
    const [out, inn] = await streamPair()
    const reader = new StreamReader(inn)
    out.send(lengthPrefixed(bytesOf(100, 4)).subarray(0, 50))
    await out.close()
    await assert.rejects(reader.readFrame(1024), (e: unknown) => code(e) === NetErrorCode.TRUNCATED)

    const [out2, inn2] = await streamPair()
    const reader2 = new StreamReader(inn2)
    out2.send(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]))
    await assert.rejects(reader2.readFrame(1024), (e: unknown) => code(e) === NetErrorCode.MALFORMED)
    out2.abort(new Error('done'))
  })

  it('pauses the stream when the reader falls behind, and loses nothing', async () => {
    const [out, inn] = await streamPair()
    const reader = new StreamReader(inn, { highWaterMark: 256 * 1024 })
    const data = bytesOf(4 * 1024 * 1024, 9)
    const sending = sendChunked(out, data, 64 * 1024).then(async () => { await out.close() })
    await waitFor(() => inn.readStatus === 'paused', 5000, 'pause')
    assert.ok(reader.bufferedBytes <= 256 * 1024 + 64 * 1024, `buffered ${reader.bufferedBytes}`)
    const got = new Uint8Array(data.byteLength)
    let n = 0
    for (let c = await reader.readChunk(); c !== undefined; c = await reader.readChunk()) {
      got.set(c, n)
      n += c.byteLength
    }
    await sending
    assert.equal(n, data.byteLength)
    assert.ok(Buffer.from(got).equals(Buffer.from(data)))
  })

  it('surfaces a remote reset as an error, not as a clean end', async () => {
    const [out, inn] = await streamPair()
    const reader = new StreamReader(inn)
    out.send(new Uint8Array([5, 1, 2]))
    out.abort(new Error('boom'))
    await assert.rejects(reader.readFrame(100))
  })
})
