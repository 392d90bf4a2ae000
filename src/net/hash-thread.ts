// The worker behind blob-hasher.ts: one SHA-256 per blob being fetched, fed in order.
import { parentPort } from 'node:worker_threads'
import { createHash, type Hash } from 'node:crypto'

export type HashRequest =
  | { op: 'update', id: number, bytes: Uint8Array }
  | { op: 'digest', id: number }
  | { op: 'drop', id: number }

/** a digest, or a batch buffer handed back for reuse */
export type HashReply = { id: number, digest: Uint8Array } | { spare: ArrayBuffer }

const running = new Map<number, Hash>()

parentPort?.on('message', (m: HashRequest) => {
  switch (m.op) {
    case 'update': {
      let h = running.get(m.id)
      if (h === undefined) running.set(m.id, h = createHash('sha256'))
      h.update(m.bytes)
      parentPort!.postMessage({ spare: m.bytes.buffer as ArrayBuffer } satisfies HashReply, [m.bytes.buffer as ArrayBuffer])
      return
    }
    case 'digest': {
      const digest = new Uint8Array((running.get(m.id) ?? createHash('sha256')).digest())
      running.delete(m.id)
      parentPort!.postMessage({ id: m.id, digest } satisfies HashReply, [digest.buffer])
      return
    }
    case 'drop':
      running.delete(m.id)
  }
})
