// Content-addressed blobs on disk (one file per CID), verified on read, with round-based GC, and
// the blobs this process just made or fetched held in memory while their files are written.
import { mkdir, readFile, writeFile, rename, stat, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { blobCid, parseBlobCid, type BlobCid } from '../net/cid.js'
import type { BlobStore } from '../net/blob-store.js'
import { isStaleTemp, removeStaleTemps } from './atomic-file.js'

export interface DiskBlobStoreOptions {
  /**
   * Bytes of recent blobs kept in memory. A blob whose file is still being written always stays;
   * past the cap the oldest written ones leave memory (their files stay).
   *
   * @default 256 MiB
   */
  memoryBytes?: number
  /** A background write failed: the blob is still served from memory, and is gone after a restart. */
  onWriteError?: (cid: string, err: unknown) => void
}

/**
 * Files are written to a temp name and renamed, so a crash never leaves a half blob under a
 * CID; reads re-hash so a corrupted file is treated as missing (and deleted), never served.
 *
 * `put` returns once the blob is in memory and servable; its file is written behind it, so an
 * update is announced and a commit published without waiting for the disk. A blob lost to a crash
 * before its file is written is only a cache miss: blobs are refetched by CID, and the node's own
 * state lives in the chain store, which is written and synced before it counts.
 */
export class DiskBlobStore implements BlobStore {
  /** cid → round it was last needed in, for garbage collection */
  private readonly rounds = new Map<string, number>()
  /** cid → bytes, oldest first (Map order) */
  private readonly recent = new Map<string, Uint8Array>()
  private recentBytes = 0
  /** cid → its file write in progress */
  private readonly writes = new Map<string, Promise<void>>()
  private readonly memoryBytes: number

  constructor (private readonly dir: string, private readonly options: DiskBlobStoreOptions = {}) {
    this.memoryBytes = options.memoryBytes ?? 256 * 1024 * 1024
  }

  async open (): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await removeStaleTemps(this.dir)
  }

  private path (cid: BlobCid | string): string {
    return join(this.dir, cid.toString())
  }

  async has (cid: BlobCid): Promise<boolean> {
    if (this.recent.has(cid.toString())) return true
    try { await stat(this.path(cid)); return true } catch { return false }
  }

  async size (cid: BlobCid): Promise<number | undefined> {
    const mem = this.recent.get(cid.toString())
    if (mem != null) return mem.byteLength
    try { return (await stat(this.path(cid))).size } catch { return undefined }
  }

  async get (cid: BlobCid): Promise<Uint8Array | undefined> {
    const mem = this.recent.get(cid.toString())
    if (mem != null) return mem
    let bytes: Uint8Array
    try { bytes = await readFile(this.path(cid)) } catch { return undefined }
    const digest = createHash('sha256').update(bytes).digest()
    if (!Buffer.from(cid.multihash.digest).equals(digest)) {
      await unlink(this.path(cid)).catch(() => {})
      return undefined
    }
    return bytes
  }

  /**
   * `known`: the bytes' CID where the caller already computed or verified it (a fetch checked the
   * bytes against it), so they are not hashed again; a wrong one would serve bytes under a CID
   * they do not have, which every fetcher refuses, so only pass one that was checked.
   */
  async put (bytes: Uint8Array, round?: number, known?: BlobCid): Promise<BlobCid> {
    const cid = known ?? blobCid(bytes)
    const key = cid.toString()
    if (round != null) this.rounds.set(key, Math.max(round, this.rounds.get(key) ?? -1))
    if (this.recent.has(key) || this.writes.has(key)) return cid
    const write = this.writeFile(key, bytes)
      .catch(err => { this.options.onWriteError?.(key, err) })
      .finally(() => { this.writes.delete(key); this.trimMemory() })
    this.writes.set(key, write) // first: a blob being written is never trimmed from memory
    this.remember(key, bytes)
    return cid
  }

  /** Resolves when every file started so far is written (call before exit). */
  async flush (): Promise<void> {
    await Promise.all([...this.writes.values()])
  }

  /** Marks a blob as needed in `round` (so GC keeps it). */
  touch (cid: string, round: number): void {
    this.rounds.set(cid, Math.max(round, this.rounds.get(cid) ?? -1))
  }

  /** Deletes blobs last needed before `round`, except those in `keep`; blobs of unknown age count as old. */
  async gc (round: number, keep: Set<string> = new Set()): Promise<number> {
    // a write still running would recreate a file deleted under it
    await this.flush()
    const old = (name: string): boolean => {
      if (keep.has(name)) return false
      const r = this.rounds.get(name)
      return r == null || r < round
    }
    for (const [key, bytes] of this.recent) {
      if (old(key)) { this.recent.delete(key); this.recentBytes -= bytes.byteLength }
    }
    let removed = 0
    for (const name of await readdir(this.dir)) {
      // a temp of this process is a write in flight (one may start while gc awaits the disk):
      // removing it would lose that blob's file; a temp of a dead process is garbage
      if (isStaleTemp(name)) { await unlink(join(this.dir, name)).catch(() => {}); continue }
      if (name.includes('.tmp-')) continue
      if (!old(name)) continue
      try { parseBlobCid(name) } catch { continue }
      await unlink(join(this.dir, name)).catch(() => {})
      this.rounds.delete(name)
      removed++
    }
    return removed
  }

  private async writeFile (key: string, bytes: Uint8Array): Promise<void> {
    try { await stat(this.path(key)); return } catch {} // already on disk (e.g. from before a restart)
    // no fsync: a blob file torn by a power cut fails its hash on read and is fetched again
    const tmp = `${this.path(key)}.tmp-${process.pid}`
    try {
      await writeFile(tmp, bytes)
      await rename(tmp, this.path(key))
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
  }

  private remember (key: string, bytes: Uint8Array): void {
    this.recent.set(key, bytes)
    this.recentBytes += bytes.byteLength
    this.trimMemory()
  }

  /** Over the cap, the oldest blobs whose files are written leave memory. */
  private trimMemory (): void {
    for (const [key, bytes] of this.recent) {
      if (this.recentBytes <= this.memoryBytes) return
      if (this.writes.has(key)) continue
      this.recent.delete(key)
      this.recentBytes -= bytes.byteLength
    }
  }
}
