// Blob streams kept open between requests (blob.md §2, "Several requests per stream"). Opening a
// stream costs a round trip: libp2p 3's multistream-select waits for the provider's echo before
// the request may go. A stream whose response came in whole goes back here, and the next request
// to the same peer rides on it at once: in a gossip round every member fetches from every other
// once per round, so from the second round on no fetch pays that round trip.
import { peerIdFromString } from '@libp2p/peer-id'
import { NetErrorCode, TransferError } from './errors.js'
import { StreamReader } from './frame.js'
import { blobProtocol } from './blob-server.js'
import { dialMemberProtocol } from './member-dial.js'
import type { TapestryHost } from './host.js'
import type { PeerId, Stream } from '@libp2p/interface'

/** A negotiated blob stream and the reader that stays attached to it across requests. */
export interface BlobStreamLease {
  stream: Stream
  reader: StreamReader
  /** false: opened for this request; true: a stream that already carried one */
  reused: boolean
  /** on a relayed connection with limits: not kept, so a later request takes the direct one once there is one */
  limited: boolean
}

/** Open a new blob stream to `provider` (a dial or negotiation failure is ERR_NET_DIAL_FAILED, resumable). */
export async function openBlobStream (host: TapestryHost, provider: PeerId | string, signal: AbortSignal): Promise<BlobStreamLease> {
  try {
    const peerId = typeof provider === 'string' ? peerIdFromString(provider) : provider
    // negotiateFully: false asks for the protocol id to ride with the request, but libp2p 3's
    // multistream-select negotiates fully anyway: one round trip before the first request on a
    // stream (researchers.md); the pool below spares the later ones
    const stream = await dialMemberProtocol(host.libp2p, peerId, blobProtocol(host.runId), { signal, negotiateFully: false, runOnLimitedConnection: true, log: host.log })
    const limited = host.libp2p.getConnections(peerId).some(c => c.limits != null && c.streams.includes(stream))
    return { stream, reader: new StreamReader(stream, { highWaterMark: 8 * 1024 * 1024 }), reused: false, limited }
  } catch (err) {
    throw new TransferError(NetErrorCode.DIAL_FAILED, provider.toString(), `cannot open blob stream: ${String(err)}`, {}, { cause: err, resumable: true })
  }
}

export interface BlobStreamPoolOptions {
  /**
   * Idle streams kept per peer; a fetch that finds none opens a new one.
   *
   * @default 2
   */
  maxIdlePerPeer?: number
  /**
   * An idle stream is closed after this long. Below the provider's own idle limit (30 s, blob.md
   * §2), so the requester, not the provider, ends a quiet stream and a request rarely meets a
   * stream the provider is closing.
   *
   * @default 15_000
   */
  idleMs?: number
}

interface Idle {
  lease: BlobStreamLease
  timer: ReturnType<typeof setTimeout>
  onGone: () => void
}

export class BlobStreamPool {
  private readonly maxIdlePerPeer: number
  private readonly idleMs: number
  private readonly idle = new Map<string, Idle[]>()

  constructor (options: BlobStreamPoolOptions = {}) {
    this.maxIdlePerPeer = options.maxIdlePerPeer ?? 2
    this.idleMs = options.idleMs ?? 15_000
  }

  /** Idle streams held, all peers. */
  get size (): number {
    let n = 0
    for (const list of this.idle.values()) n += list.length
    return n
  }

  /** The most recently returned idle stream to `peer` that can still carry a request. */
  take (peer: string): BlobStreamLease | undefined {
    const list = this.idle.get(peer) ?? []
    for (let entry = list.pop(); entry !== undefined; entry = list.pop()) {
      this.forget(entry)
      if (usable(entry.lease)) {
        if (list.length === 0) this.idle.delete(peer)
        return { ...entry.lease, reused: true }
      }
      retire(entry.lease)
    }
    this.idle.delete(peer)
    return undefined
  }

  /**
   * Hand back a stream whose last response was read to its end. Kept when it can carry another
   * request and there is room; otherwise its writing side is closed (the provider then ends it).
   */
  give (peer: string, lease: BlobStreamLease): void {
    const list = this.idle.get(peer) ?? []
    if (lease.limited || !usable(lease) || list.length >= this.maxIdlePerPeer) {
      retire(lease)
      return
    }
    const entry: Idle = {
      lease,
      timer: setTimeout(() => this.drop(peer, entry), this.idleMs),
      // the provider ended it (its idle limit, a restart) or the connection went: not reusable
      onGone: () => this.drop(peer, entry)
    }
    entry.timer.unref?.()
    lease.stream.addEventListener('remoteCloseWrite', entry.onGone)
    lease.stream.addEventListener('close', entry.onGone)
    list.push(entry)
    this.idle.set(peer, list)
  }

  /** Close every idle stream (the host stops). */
  clear (): void {
    for (const [peer, list] of this.idle) {
      for (const entry of [...list]) this.drop(peer, entry)
    }
  }

  private drop (peer: string, entry: Idle): void {
    const list = this.idle.get(peer)
    const i = list?.indexOf(entry) ?? -1
    if (i < 0) return
    list!.splice(i, 1)
    if (list!.length === 0) this.idle.delete(peer)
    this.forget(entry)
    retire(entry.lease)
  }

  private forget (entry: Idle): void {
    clearTimeout(entry.timer)
    entry.lease.stream.removeEventListener('remoteCloseWrite', entry.onGone)
    entry.lease.stream.removeEventListener('close', entry.onGone)
  }
}

/** Open both ways, and nothing unread: a byte arriving between responses breaks the protocol. */
function usable (lease: BlobStreamLease): boolean {
  const s = lease.stream
  return s.status === 'open' && s.writeStatus === 'writable' && s.remoteWriteStatus === 'writable' && lease.reader.bufferedBytes === 0 && s.readBufferLength === 0
}

/** Close our writing side (the provider answers by ending the stream); abort what cannot close. */
function retire (lease: BlobStreamLease): void {
  const s = lease.stream
  const unread = lease.reader.bufferedBytes > 0 || s.readBufferLength > 0
  lease.reader.release()
  if (s.status !== 'open') return
  if (unread || s.writeStatus !== 'writable') {
    s.abort(new Error('blob stream retired'))
    return
  }
  s.close().catch(err => s.abort(err instanceof Error ? err : new Error(String(err))))
}
