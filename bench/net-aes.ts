// The ceiling of encryption hand-framed on Node's own crypto, for `bench net`: AES-256-GCM in 1 MiB
// records over a bare TCP socket, decrypted as the bytes arrive (no TLS record limit, no libp2p, no
// handshake: a fixed bench key), and the cipher's in-memory rate on this core. Not a transport
// Tapestry uses: it shows how far any encryption in one Node process per side can get.
import { createCipheriv, createDecipheriv, type DecipherGCM } from 'node:crypto'
import { answerRequests } from './net-serve.js'
import type { Socket } from 'node:net'

const RECORD = 1024 * 1024
const TAG = 16
const KEY = Buffer.alloc(32, 0x5a)

/** record i's nonce: a fixed 8-byte prefix, then i (unique per key, as GCM needs) */
function nonce (i: number): Buffer {
  const n = Buffer.alloc(12, 0x01)
  n.writeUInt32BE(i, 8)
  return n
}

/** Answers every request byte with `data` as records: [length u32][ciphertext][tag], under the socket's backpressure. */
export function serveAesRecords (sock: Socket, data: Uint8Array): void {
  answerRequests(sock, function * () {
    for (let i = 0; i * RECORD < data.byteLength; i++) {
      const c = createCipheriv('aes-256-gcm', KEY, nonce(i))
      const ct = c.update(data.subarray(i * RECORD, (i + 1) * RECORD))
      c.final()
      const len = Buffer.alloc(4)
      len.writeUInt32BE(ct.byteLength)
      yield [len, ct, c.getAuthTag()]
    }
  })
}

/**
 * The reading end: feeds each socket chunk to the record's decipher as it arrives and copies the
 * plaintext into `out` (the copy the blob client makes), checks each record's tag at its end, and
 * calls `done` after `out.byteLength` bytes. Reset with `start` before each transfer.
 */
export class AesRecordReader {
  private phase: 'len' | 'body' | 'tag' = 'len'
  private readonly head = Buffer.alloc(4)
  private readonly tag = Buffer.alloc(TAG)
  private have = 0
  private left = 0
  private record = 0
  private decipher: DecipherGCM | undefined
  private n = 0
  private done: (() => void) | undefined

  constructor (private readonly out: Uint8Array) {}

  get received (): number { return this.n }

  start (done: () => void): void {
    this.n = 0
    this.record = 0
    this.phase = 'len'
    this.have = 0
    this.done = done
  }

  push (d: Buffer): void {
    let off = 0
    while (off < d.byteLength) {
      if (this.phase === 'len') {
        const take = Math.min(4 - this.have, d.byteLength - off)
        d.copy(this.head, this.have, off, off + take)
        this.have += take
        off += take
        if (this.have === 4) {
          this.left = this.head.readUInt32BE(0)
          this.decipher = createDecipheriv('aes-256-gcm', KEY, nonce(this.record++))
          this.phase = 'body'
          this.have = 0
        }
      } else if (this.phase === 'body') {
        const take = Math.min(this.left, d.byteLength - off)
        const pt = this.decipher!.update(d.subarray(off, off + take))
        this.out.set(pt.subarray(0, Math.max(0, this.out.byteLength - this.n)), this.n)
        this.n += pt.byteLength
        this.left -= take
        off += take
        if (this.left === 0) this.phase = 'tag'
      } else {
        const take = Math.min(TAG - this.have, d.byteLength - off)
        d.copy(this.tag, this.have, off, off + take)
        this.have += take
        off += take
        if (this.have === TAG) {
          this.decipher!.setAuthTag(this.tag)
          this.decipher!.final() // throws on a bad tag
          this.phase = 'len'
          this.have = 0
          if (this.n >= this.out.byteLength) this.done?.()
        }
      }
    }
  }
}

/** AES-256-GCM over `data` in memory, 1 MiB records, on this thread: MB/s. */
export function aesInMemoryMBps (data: Uint8Array): number {
  const t0 = performance.now()
  for (let i = 0; i * RECORD < data.byteLength; i++) {
    const c = createCipheriv('aes-256-gcm', KEY, nonce(i))
    c.update(data.subarray(i * RECORD, (i + 1) * RECORD))
    c.final()
  }
  return data.byteLength / 1e6 / ((performance.now() - t0) / 1000)
}
