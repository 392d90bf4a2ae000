// Content-addressed blobs on disk (one file per CID), verified on read, with round-based GC.
import { mkdir, readFile, writeFile, rename, stat, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { blobCid, parseBlobCid, type BlobCid } from '../net/cid.js'
import type { BlobStore } from '../net/blob-store.js'

/**
 * Files are written to a temp name and renamed, so a crash never leaves a half blob under a
 * CID; reads re-hash so a corrupted file is treated as missing (and deleted), never served.
 */
export class DiskBlobStore implements BlobStore {
  /** cid → round it was last needed in, for garbage collection */
  private readonly rounds = new Map<string, number>()

  constructor (private readonly dir: string) {}

  async open (): Promise<void> {
    await mkdir(this.dir, { recursive: true })
  }

  private path (cid: BlobCid): string {
    return join(this.dir, cid.toString())
  }

  async has (cid: BlobCid): Promise<boolean> {
    try { await stat(this.path(cid)); return true } catch { return false }
  }

  async size (cid: BlobCid): Promise<number | undefined> {
    try { return (await stat(this.path(cid))).size } catch { return undefined }
  }

  async get (cid: BlobCid): Promise<Uint8Array | undefined> {
    let bytes: Uint8Array
    try { bytes = await readFile(this.path(cid)) } catch { return undefined }
    const digest = createHash('sha256').update(bytes).digest()
    if (!Buffer.from(cid.multihash.digest).equals(digest)) {
      await unlink(this.path(cid)).catch(() => {})
      return undefined
    }
    return bytes
  }

  async put (bytes: Uint8Array, round?: number): Promise<BlobCid> {
    const cid = blobCid(bytes)
    if (round != null) this.rounds.set(cid.toString(), Math.max(round, this.rounds.get(cid.toString()) ?? -1))
    if (await this.has(cid)) return cid
    const tmp = `${this.path(cid)}.tmp-${process.pid}`
    await writeFile(tmp, bytes)
    await rename(tmp, this.path(cid))
    return cid
  }

  /** Marks a blob as needed in `round` (so GC keeps it). */
  touch (cid: string, round: number): void {
    this.rounds.set(cid, Math.max(round, this.rounds.get(cid) ?? -1))
  }

  /** Deletes blobs last needed before `round`, except those in `keep`; blobs of unknown age count as old. */
  async gc (round: number, keep: Set<string> = new Set()): Promise<number> {
    let removed = 0
    for (const name of await readdir(this.dir)) {
      if (name.includes('.tmp-')) { await unlink(join(this.dir, name)).catch(() => {}); continue }
      if (keep.has(name)) continue
      const r = this.rounds.get(name)
      if (r != null && r >= round) continue
      try { parseBlobCid(name) } catch { continue }
      await unlink(join(this.dir, name)).catch(() => {})
      this.rounds.delete(name)
      removed++
    }
    return removed
  }
}
