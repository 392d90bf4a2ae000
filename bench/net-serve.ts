// The sending side of `bench net`'s byte subjects: every request byte on a connection is answered
// with one whole transfer, under the socket's own backpressure, so a warm connection is measured
// as the blob one is. Raw TCP, Node TLS and the AES records alike; only what a transfer writes differs.
import type { Socket } from 'node:net'

/**
 * Answer each request byte on `sock` with the writes `transfer()` yields, one after another: each
 * item is written at once (corked, so a record's parts leave together), then the next waits for
 * 'drain' whenever the socket's buffer is full.
 */
export function answerRequests (sock: Socket, transfer: () => Iterator<Uint8Array[]>): void {
  let pending = 0
  let sending = false
  const pump = (): void => {
    sending = true
    const writes = transfer()
    const more = (): void => {
      for (let w = writes.next(); w.done !== true; w = writes.next()) {
        sock.cork()
        let ok = true
        for (const part of w.value) ok = sock.write(part)
        sock.uncork()
        if (!ok) { sock.once('drain', more); return }
      }
      sending = false
      if (--pending > 0) pump()
    }
    more()
  }
  sock.on('data', (req: Buffer) => {
    pending += req.byteLength
    if (!sending) pump()
  })
  sock.on('error', () => {})
}
