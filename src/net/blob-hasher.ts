// SHA-256 of a blob as it arrives. A large blob is hashed on a worker thread, so the thread that
// decrypts the transfer and copies its bytes does not hash them as well: on one core SHA-256 runs
// at about 1.7 GB/s here, a third of what a 64 MiB fetch costs that thread (protocols/blob.md §4).
// Small blobs are hashed inline, where a message to the worker costs more than the hash.
import { Worker } from 'node:worker_threads'
import { createHash, type Hash } from 'node:crypto'
import type { HashReply, HashRequest } from './hash-thread.js'

/** Blobs from this size on are hashed off the fetching thread. */
export const OFF_THREAD_MIN_BYTES = 4 * 1024 * 1024
/** Bytes handed to the worker per message: one copy each, few enough messages to cost nothing. */
const BATCH_BYTES = 1024 * 1024
/** batch buffers kept for reuse: enough for the batches in flight to the worker at a time */
const MAX_SPARE_BATCHES = 16

/**
 * The running hash of `buf`, whose bytes arrive in order from offset 0: `advance(upto)` says
 * [0, upto) is in; `digest()` is the hash of what was advanced. `dispose()` when abandoned.
 */
export interface BlobHasher {
  advance: (upto: number) => void
  digest: () => Promise<Uint8Array>
  dispose: () => void
}

export function blobHasher (buf: Uint8Array): BlobHasher {
  return buf.byteLength >= OFF_THREAD_MIN_BYTES ? new OffThreadHasher(buf) : new InlineHasher(buf)
}

/** Bytes handed over between yields when a whole buffer is hashed at once. */
const WHOLE_STEP_BYTES = 8 * 1024 * 1024

/**
 * SHA-256 of a buffer that is already complete (ranges from several providers): off thread from
 * 4 MiB on, handed over a step at a time so the event loop is never held for the whole copy.
 */
export async function hashWhole (buf: Uint8Array): Promise<Uint8Array> {
  const h = blobHasher(buf)
  for (let at = 0; at < buf.byteLength;) {
    at = Math.min(buf.byteLength, at + WHOLE_STEP_BYTES)
    h.advance(at)
    if (at < buf.byteLength) await new Promise<void>(resolve => setImmediate(resolve))
  }
  return await h.digest()
}

class InlineHasher implements BlobHasher {
  private readonly hash: Hash = createHash('sha256')
  private hashed = 0
  constructor (private readonly buf: Uint8Array) {}
  advance (upto: number): void {
    if (upto <= this.hashed) return
    this.hash.update(this.buf.subarray(this.hashed, upto))
    this.hashed = upto
  }

  async digest (): Promise<Uint8Array> { return new Uint8Array(this.hash.digest()) }
  dispose (): void {}
}

class OffThreadHasher implements BlobHasher {
  private readonly id = nextId++
  /** the worker this hash lives on; another one (after a crash) never saw its first bytes */
  private worker: Worker | undefined
  private hashed = 0
  private upto = 0
  private done = false
  constructor (private readonly buf: Uint8Array) {}

  advance (upto: number): void {
    this.upto = Math.max(this.upto, upto)
    if (this.upto - this.hashed >= BATCH_BYTES) this.flush()
  }

  async digest (): Promise<Uint8Array> {
    this.flush()
    this.done = true
    try {
      if (this.worker !== undefined) return await pool().digest(this.id, this.worker)
    } catch {}
    // nothing sent, or the worker is gone: the bytes are all here, hash them on this thread
    return new Uint8Array(createHash('sha256').update(this.buf.subarray(0, this.upto)).digest())
  }

  dispose (): void {
    if (this.done) return
    this.done = true
    if (this.worker !== undefined) pool().send({ op: 'drop', id: this.id }, this.worker)
  }

  private flush (): void {
    if (this.hashed >= this.upto) return
    this.worker ??= pool().current()
    while (this.hashed < this.upto) {
      // a copy moved to the worker (the assembly buffer stays this thread's), into a batch buffer
      // the worker hands back: a fresh one per batch cost as much as the copy again in page faults
      const n = Math.min(BATCH_BYTES, this.upto - this.hashed)
      const bytes = new Uint8Array(pool().batchBuffer(), 0, n)
      bytes.set(this.buf.subarray(this.hashed, this.hashed + n))
      pool().send({ op: 'update', id: this.id, bytes }, this.worker, [bytes.buffer as ArrayBuffer])
      this.hashed += n
    }
  }
}

let nextId = 1
let shared: HashPool | undefined

function pool (): HashPool {
  shared ??= new HashPool()
  return shared
}

/** One worker for the process, started on first use; it keeps the process alive only while a digest is awaited. */
class HashPool {
  private worker: Worker | undefined
  private readonly waiting = new Map<number, { resolve: (d: Uint8Array) => void, reject: (e: Error) => void }>()
  /** batch buffers the worker is done with (already paged in), reused before allocating */
  private readonly spare: ArrayBuffer[] = []

  batchBuffer (): ArrayBuffer { return this.spare.pop() ?? new ArrayBuffer(BATCH_BYTES) }

  /** To `w` only: a message for a worker that has since died is dropped (its hashes fall back). */
  send (m: HashRequest, w: Worker, transfer: ArrayBuffer[] = []): void {
    if (w === this.worker) w.postMessage(m, transfer)
  }

  async digest (id: number, w: Worker): Promise<Uint8Array> {
    if (w !== this.worker) throw new Error('hash worker restarted')
    return await new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      w.ref()
      w.postMessage({ op: 'digest', id } satisfies HashRequest)
    })
  }

  /** The worker now, started if none runs. */
  current (): Worker {
    if (this.worker !== undefined) return this.worker
    const w = new Worker(new URL('./hash-thread.js', import.meta.url))
    w.unref()
    w.on('message', (r: HashReply) => {
      if ('spare' in r) { if (this.spare.length < MAX_SPARE_BATCHES) this.spare.push(r.spare); return }
      const p = this.waiting.get(r.id)
      this.waiting.delete(r.id)
      if (this.waiting.size === 0) w.unref()
      p?.resolve(r.digest)
    })
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = undefined
      for (const p of this.waiting.values()) p.reject(err)
      this.waiting.clear()
    }
    w.on('error', fail)
    w.on('exit', code => fail(new Error(`hash worker exited with code ${code}`)))
    this.worker = w
    return w
  }
}
