// Where a node keeps content-addressed blobs it can serve: the interface plus an in-memory store.
import { NetError, NetErrorCode } from './errors.js'
import { blobCid, toBlobCid } from './cid.js'
import type { BlobCid } from './cid.js'
import type { CID } from 'multiformats/cid'

export type Awaitable<T> = T | Promise<T>

/**
 * A content-addressed blob store. Methods may be sync or async so a disk-backed store (the
 * daemon's) fits without wrapping. Stores must only ever return bytes whose sha2-256 matches the
 * CID: the blob server streams what `get` returns without re-hashing it.
 */
export interface BlobStore {
  has: (cid: BlobCid) => Awaitable<boolean>
  /** the whole blob, or undefined when absent */
  get: (cid: BlobCid) => Awaitable<Uint8Array | undefined>
  /** store bytes, returning their CID (idempotent) */
  put: (bytes: Uint8Array) => Awaitable<BlobCid>
  /** size in bytes, or undefined when absent; lets the server refuse before loading */
  size: (cid: BlobCid) => Awaitable<number | undefined>
}

export interface MemoryBlobStoreOptions {
  /**
   * Most bytes held at once; `put` beyond it throws ERR_NET_OVERSIZED (nothing is evicted: eviction
   * policy belongs to the caller, who knows which models and updates are still needed).
   *
   * @default Infinity
   */
  maxTotalBytes?: number
}

/** Blobs in a Map keyed by the CID's string form. For tests, the simulator and small nodes. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Uint8Array>()
  private readonly maxTotalBytes: number
  private total = 0

  constructor (options: MemoryBlobStoreOptions = {}) {
    this.maxTotalBytes = options.maxTotalBytes ?? Infinity
  }

  has (cid: BlobCid): boolean {
    return this.blobs.has(cid.toString())
  }

  get (cid: BlobCid): Uint8Array | undefined {
    return this.blobs.get(cid.toString())
  }

  size (cid: BlobCid): number | undefined {
    return this.blobs.get(cid.toString())?.byteLength
  }

  put (bytes: Uint8Array): BlobCid {
    const cid = blobCid(bytes)
    const key = cid.toString()
    if (this.blobs.has(key)) return cid
    if (this.total + bytes.byteLength > this.maxTotalBytes) {
      throw new NetError(NetErrorCode.OVERSIZED, `store full: ${this.total} + ${bytes.byteLength} > ${this.maxTotalBytes} bytes`)
    }
    // a private copy: the caller may reuse its buffer, and served bytes must keep matching the CID
    this.blobs.set(key, bytes.slice())
    this.total += bytes.byteLength
    return cid
  }

  /** Drop a blob; returns whether it was there. */
  delete (cid: CID | string): boolean {
    const key = toBlobCid(cid).toString()
    const b = this.blobs.get(key)
    if (b == null) return false
    this.blobs.delete(key)
    this.total -= b.byteLength
    return true
  }

  /** Bytes held. */
  get totalBytes (): number {
    return this.total
  }

  /** Number of blobs held. */
  get count (): number {
    return this.blobs.size
  }
}
