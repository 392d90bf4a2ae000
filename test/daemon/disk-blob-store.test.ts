// Blobs on disk with a memory tier: servable at once, written behind, verified on read, collected by round.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DiskBlobStore } from '../../src/daemon/disk-blob-store.js'
import { blobCid } from '../../src/net/cid.js'

const bytes = (n: number, seed: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff)
/** same bytes, whether a Uint8Array or a Buffer came back */
const same = (got: Uint8Array | undefined, want: Uint8Array): void => { assert.ok(got != null && Buffer.from(got).equals(Buffer.from(want)), 'bytes differ') }

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-blobs-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('a put blob is served at once and is on disk after flush, for a fresh store too', async () => withDir(async dir => {
  const s = new DiskBlobStore(dir)
  await s.open()
  const b = bytes(5000, 1)
  const cid = await s.put(b, 3)
  assert.equal(cid.toString(), blobCid(b).toString())
  assert.equal(await s.has(cid), true)
  assert.equal(await s.size(cid), 5000)
  same(await s.get(cid), b)
  await s.flush()
  assert.deepEqual(await readdir(dir), [cid.toString()])
  const again = new DiskBlobStore(dir) // after a restart: from the file, re-hashed
  same(await again.get(cid), b)
  assert.equal(await again.get(blobCid(bytes(10, 2))), undefined)
}))

test('a corrupted file is treated as missing and deleted', async () => withDir(async dir => {
  const s = new DiskBlobStore(dir)
  await s.open()
  const cid = await s.put(bytes(4096, 3), 0)
  await s.flush()
  await writeFile(join(dir, cid.toString()), bytes(4096, 4))
  const fresh = new DiskBlobStore(dir)
  assert.equal(await fresh.get(cid), undefined)
  assert.deepEqual(await readdir(dir), [])
}))

test('gc drops blobs last needed before the round, from memory and disk, keeping the kept ones', async () => withDir(async dir => {
  const s = new DiskBlobStore(dir)
  await s.open()
  const a = await s.put(bytes(100, 5), 1)
  const b = await s.put(bytes(100, 6), 2)
  const c = await s.put(bytes(100, 7), 1)
  const d = await s.put(bytes(100, 8)) // no round: unknown age counts as old
  s.touch(c.toString(), 3)
  await writeFile(join(dir, 'x.tmp-999'), 'half') // a crash mid-write
  const removed = await s.gc(2, new Set([d.toString()]))
  assert.equal(removed, 1)
  assert.equal(await s.has(a), false)
  for (const kept of [b, c, d]) assert.equal(await s.has(kept), true)
  assert.deepEqual((await readdir(dir)).sort(), [b, c, d].map(x => x.toString()).sort())
}))

test('memory holds at most the cap of written blobs; the files stay', async () => withDir(async dir => {
  const s = new DiskBlobStore(dir, { memoryBytes: 10_000 })
  await s.open()
  const cids = []
  for (let i = 0; i < 5; i++) cids.push(await s.put(bytes(4000, 10 + i), 1))
  await s.flush()
  const inMemory = (s as unknown as { recentBytes: number }).recentBytes
  assert.ok(inMemory <= 10_000, `${inMemory} bytes in memory`)
  for (const [i, cid] of cids.entries()) same(await s.get(cid), bytes(4000, 10 + i))
}))

test('a failed write is reported, and the blob is still served from memory', async () => withDir(async dir => {
  if (process.getuid?.() === 0) {
    // root ignores directory permissions: make the target path a directory instead
    const errors: string[] = []
    const s = new DiskBlobStore(dir, { onWriteError: cid => errors.push(cid) })
    await s.open()
    const b = bytes(300, 20)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(join(dir, `${blobCid(b).toString()}.tmp-${process.pid}`))
    const cid = await s.put(b, 1)
    await s.flush()
    assert.deepEqual(errors, [cid.toString()])
    same(await s.get(cid), b)
    return
  }
  const errors: string[] = []
  const s = new DiskBlobStore(dir, { onWriteError: cid => errors.push(cid) })
  await s.open()
  await chmod(dir, 0o500)
  try {
    const b = bytes(300, 21)
    const cid = await s.put(b, 1)
    await s.flush()
    assert.deepEqual(errors, [cid.toString()])
    same(await s.get(cid), b)
  } finally { await chmod(dir, 0o700) }
}))

test('a temp left by a killed writer is removed at open; a write of this process in flight survives gc', async () => withDir(async dir => {
  await writeFile(join(dir, `${blobCid(bytes(10, 30)).toString()}.tmp-99999999`), 'half')
  const s = new DiskBlobStore(dir)
  await s.open()
  assert.deepEqual(await readdir(dir), [])
  // a write that starts while gc runs: its temp exists when gc lists the directory
  const b = bytes(64, 31)
  const ours = `${blobCid(b).toString()}.tmp-${process.pid}`
  await writeFile(join(dir, ours), b.subarray(0, 10))
  await s.gc(5)
  assert.deepEqual(await readdir(dir), [ours])
}))
