// Serving side of /tapestry/blob/1.0.0: answer each request on a stream, one after another, with
// a header and the requested byte range of a stored blob, sent in chunks under backpressure.
// Spec: protocols/blob.md.
import { NetError, NetErrorCode, isNetError } from './errors.js'
import { decodeBlobCid } from './cid.js'
import { StreamReader, lengthPrefixed, sendChunked, sendWithBackpressure, watchStall } from './frame.js'
import { BlobRequest, BlobResponse } from './wire/blob.js'
import { BULK_KEY_BYTES, type BulkServer } from './bulk.js'
import type { BlobStore } from './blob-store.js'
import type { BlobCid } from './cid.js'
import type { TapestryHost } from './host.js'
import type { Stream, Connection } from '@libp2p/interface'
import type { Logger } from 'pino'

/** The run's blob protocol: /tapestry/<runId>/blob/1.0.0 (a node of another run never negotiates it). */
export function blobProtocol (runId: string): string {
  return `/tapestry/${runId}/blob/1.0.0`
}
export const BLOB_VERSION = 1
/** A request is a version, a 36-byte CID and three varints: far below this. */
export const MAX_BLOB_REQUEST_BYTES = 256
/** A response header is a version, a status and two varints. */
export const MAX_BLOB_HEADER_BYTES = 64

export interface BlobServerOptions {
  store: BlobStore
  /**
   * Bytes handed to the stream per `send()`. Large enough that per-call overhead vanishes, small
   * enough that backpressure reacts within a few yamux frames.
   *
   * @default 262_144
   */
  chunkSize?: number
  /**
   * Transfers served at once across all peers; more are answered BUSY so the requester moves on
   * to another provider instead of queueing.
   *
   * @default 32
   */
  maxConcurrentTransfers?: number
  /**
   * Blob streams one connection may hold open at once.
   *
   * @default 8
   */
  maxInboundStreams?: number
  /**
   * Time a requester has to send its request after opening the stream.
   *
   * @default 10_000
   */
  requestTimeoutMs?: number
  /**
   * Time a stream that carried a request may wait for the next one before the provider ends it
   * (gracefully; reset if the requester does not end its side within `requestTimeoutMs`).
   *
   * @default 30_000
   */
  idleTimeoutMs?: number
  /**
   * A requester that takes no bytes of a response for this long (it stopped reading, so its
   * receive window stays shut) is cut off: it would otherwise hold a transfer slot for good.
   *
   * @default 20_000
   */
  sendStallMs?: number
  /**
   * Send ranges of at least `minBytes` over this bulk TLS-PSK listener when the requester asks
   * (blob.md §7) and the connection is direct; never over a relay.
   */
  bulk?: { server: BulkServer, minBytes?: number }
  log?: Logger
}

/** smallest range a provider sends over a bulk connection: below it the handshake costs more than it saves */
export const DEFAULT_BULK_MIN_BYTES = 4 * 1024 * 1024

export interface BlobServer {
  /** transfers in progress */
  readonly active: number
  /** payload bytes handed to streams since start */
  readonly bytesServed: number
  stop: () => Promise<void>
}

/** Register the blob protocol handler on `host`, serving from `options.store`. */
export async function serveBlobs (host: TapestryHost, options: BlobServerOptions): Promise<BlobServer> {
  const chunkSize = options.chunkSize ?? 256 * 1024
  const maxActive = options.maxConcurrentTransfers ?? 32
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000
  const sendStallMs = options.sendStallMs ?? 20_000
  const log = options.log ?? host.log
  const stats = { active: 0, bytesServed: 0 }

  const respond = async (stream: Stream, r: Omit<BlobResponse, 'version' | 'bulkPort' | 'bulkTicket'> & Partial<Pick<BlobResponse, 'bulkPort' | 'bulkTicket'>>): Promise<void> => {
    await sendWithBackpressure(stream, lengthPrefixed(BlobResponse.encode({ version: BLOB_VERSION, ...r })))
  }

  /** Answer one request. False: the stream must end (a request we could not make sense of). */
  const serve = async (stream: Stream, connection: Connection, peer: string, frame: Uint8Array): Promise<boolean> => {
    const refuse = async (status: BlobResponse.Status, totalSize = 0): Promise<boolean> => {
      await respond(stream, { status, totalSize, length: 0 })
      return status !== BlobResponse.Status.BAD_REQUEST
    }
    let req: BlobRequest
    let cid: BlobCid
    try {
      req = BlobRequest.decode(frame)
      cid = decodeBlobCid(req.cid)
    } catch {
      return await refuse(BlobResponse.Status.BAD_REQUEST)
    }
    if (req.version !== BLOB_VERSION || !Number.isSafeInteger(req.offset) || !Number.isSafeInteger(req.length) || !Number.isSafeInteger(req.maxSize)) {
      return await refuse(BlobResponse.Status.BAD_REQUEST)
    }
    const total = await options.store.size(cid)
    // the requester would refuse a blob above its cap anyway: tell it the size and send nothing
    if (total === undefined) return await refuse(BlobResponse.Status.NOT_FOUND)
    if (total > req.maxSize) return await refuse(BlobResponse.Status.TOO_LARGE, total)
    if (req.offset > total) return await refuse(BlobResponse.Status.BAD_REQUEST, total)
    if (stats.active >= maxActive) return await refuse(BlobResponse.Status.BUSY, total)
    stats.active++
    try {
      const bytes = await options.store.get(cid)
      // deleted (or replaced) between size() and get()
      if (bytes === undefined || bytes.byteLength !== total) return await refuse(BlobResponse.Status.NOT_FOUND)
      const end = req.length === 0 ? total : Math.min(total, req.offset + req.length)
      const bulk = options.bulk
      const ticket = bulk != null && req.bulkKey.byteLength === BULK_KEY_BYTES && connection.limits == null && end - req.offset >= (bulk.minBytes ?? DEFAULT_BULK_MIN_BYTES)
        ? bulk.server.offer(req.bulkKey, bytes.subarray(req.offset, end), peer)
        : undefined
      if (ticket != null) {
        // the bytes go over the bulk connection that proves the request's key; nothing follows here
        await respond(stream, { status: BlobResponse.Status.OK, totalSize: total, length: end - req.offset, bulkPort: bulk!.server.port, bulkTicket: ticket })
        stats.bytesServed += end - req.offset
        log?.debug({ peer, cid: cid.toString(), offset: req.offset, bytes: end - req.offset }, 'blob offered over bulk transfer')
        return true
      }
      await respond(stream, { status: BlobResponse.Status.OK, totalSize: total, length: end - req.offset })
      const stall = watchStall(sendStallMs, () => stream.abort(new NetError(NetErrorCode.TIMEOUT, `requester took nothing for ${sendStallMs} ms`)))
      try {
        await sendChunked(stream, bytes.subarray(req.offset, end), chunkSize, stall.touch)
      } finally {
        stall.stop()
      }
      stats.bytesServed += end - req.offset
      log?.debug({ peer, cid: cid.toString(), offset: req.offset, bytes: end - req.offset }, 'blob served')
      return true
    } finally {
      stats.active--
    }
  }

  const handler = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer.toString()
    // the gater refused non-members at connection; a member removed since is refused here
    if (!host.admits(peer)) {
      host.refused.streams++
      stream.abort(new NetError(NetErrorCode.BAD_INPUT, 'not a member of this run'))
      return
    }
    // one reader for the stream's life: a next request that arrives early waits in it
    const reader = new StreamReader(stream, { highWaterMark: 64 * 1024 })
    let idle = false
    // idle: end our side gracefully, so the tail of the last response (still in buffers) arrives
    // whole and the requester drops the stream; a requester that does not end its side is reset
    const endIdle = (): void => {
      idle = true
      stream.close().catch(() => {})
      const grace = setTimeout(() => stream.abort(new NetError(NetErrorCode.TIMEOUT, 'blob stream idle')), requestTimeoutMs)
      stream.addEventListener('close', () => clearTimeout(grace), { once: true })
    }
    try {
      for (let served = 0; ; served++) {
        // the first request must come in time; after a response the stream may wait for the next
        const timer = served === 0
          ? setTimeout(() => stream.abort(new NetError(NetErrorCode.TIMEOUT, 'no blob request in time')), requestTimeoutMs)
          : setTimeout(endIdle, idleTimeoutMs)
        let frame: Uint8Array | undefined
        try {
          frame = served === 0 ? await reader.readFrame(MAX_BLOB_REQUEST_BYTES) : await reader.readFrameOrEnd(MAX_BLOB_REQUEST_BYTES)
        } finally {
          clearTimeout(timer)
        }
        // the requester closed its writing side (no more requests), or a request crossed our end
        if (frame === undefined || idle || !await serve(stream, connection, peer, frame)) break
      }
      await stream.close()
    } catch (err) {
      // the requester went away, stalled, or sent garbage: nothing to answer, just free the stream
      if (!idle) log?.debug({ peer, code: isNetError(err) ? err.code : undefined, err: String(err) }, 'blob stream failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      reader.release()
    }
  }

  await host.libp2p.handle(blobProtocol(host.runId), handler, { maxInboundStreams: options.maxInboundStreams ?? 8, runOnLimitedConnection: true })
  return {
    get active () { return stats.active },
    get bytesServed () { return stats.bytesServed },
    stop: async () => { await host.libp2p.unhandle(blobProtocol(host.runId)) }
  }
}
