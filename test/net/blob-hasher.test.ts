// The running hash of a blob being fetched: off the fetching thread from 4 MiB on, inline below,
// the same SHA-256 either way, however the bytes arrive.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { blobHasher, hashWhole, OFF_THREAD_MIN_BYTES } from '../../src/net/blob-hasher.js'

const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())

/** Advance through `buf` in steps drawn from `steps`, as a transfer's chunks would. */
function feed (buf: Uint8Array, steps: number[]): ReturnType<typeof blobHasher> {
  const h = blobHasher(buf)
  let at = 0
  for (let i = 0; at < buf.byteLength; i++) {
    at = Math.min(buf.byteLength, at + steps[i % steps.length])
    h.advance(at)
  }
  return h
}

test('the same digest as SHA-256 of the whole, inline and off thread, for chunks of any size', async () => {
  for (const size of [0, 1, 65_537, OFF_THREAD_MIN_BYTES - 1, OFF_THREAD_MIN_BYTES, 9 * 1024 * 1024 + 17]) {
    const buf = new Uint8Array(randomBytes(size))
    for (const steps of [[16_384], [1, 999_999, 3_000_001], [size || 1]]) {
      assert.deepEqual(await feed(buf, steps).digest(), sha(buf), `${size} bytes in steps of ${steps.join('/')}`)
    }
  }
})

test('off thread: only what was advanced is hashed, and a changed byte changes the digest', async () => {
  const buf = new Uint8Array(randomBytes(6 * 1024 * 1024))
  const h = blobHasher(buf)
  h.advance(5 * 1024 * 1024)
  assert.deepEqual(await h.digest(), sha(buf.subarray(0, 5 * 1024 * 1024)))
  const bad = buf.slice()
  bad[4_000_000] ^= 1
  assert.notDeepEqual(await feed(bad, [1 << 20]).digest(), sha(buf))
})

test('hashes running at once stay apart; an abandoned one does not disturb the others', async () => {
  const bufs = [0, 1, 2].map(() => new Uint8Array(randomBytes(5 * 1024 * 1024)))
  const hs = bufs.map(b => blobHasher(b))
  for (let at = 0; at < 5 * 1024 * 1024;) {
    at = Math.min(5 * 1024 * 1024, at + 700_001)
    for (const h of hs) h.advance(at)
  }
  hs[1].dispose()
  assert.deepEqual(await hs[0].digest(), sha(bufs[0]))
  assert.deepEqual(await hs[2].digest(), sha(bufs[2]))
})

test('a complete buffer (ranges from several providers) hashes the same, handed over in steps', async () => {
  for (const size of [0, 1000, 20 * 1024 * 1024 + 3]) {
    const buf = new Uint8Array(randomBytes(size))
    assert.deepEqual(await hashWhole(buf), sha(buf), `${size} bytes`)
  }
})
