// /tapestry/sync/1.0.0: a late joiner asks a peer for the signed commit chain from a round and
// for the current model's CID, then fetches the model over the blob protocol. Spec: protocols/sync.md.
import { peerIdFromString } from '@libp2p/peer-id'
import { FetchError, NetError, NetErrorCode, TransferError, isNetError } from './errors.js'
import { isBlobCidString } from './cid.js'
import { StreamReader, lengthPrefixed, sendWithBackpressure } from './frame.js'
import { MAX_GOSSIP_BYTES, decodeCommit } from './gossip-codec.js'
import { PeerRateLimiter, type RateLimit } from './rate-limit.js'
import { fetchBlob, type BulkFetchOptions } from './blob-fetch.js'
import { dialMemberProtocol } from './member-dial.js'
import { SyncRequest, SyncResponse } from './wire/sync.js'
import type { Awaitable } from './blob-store.js'
import type { ProviderFailure } from './errors.js'
import type { Verified } from './gossip-codec.js'
import type { TapestryHost } from './host.js'
import type { Commit } from '../round/messages.js'
import type { PeerId, Stream, Connection } from '@libp2p/interface'
import type { Logger } from 'pino'

/** The run's sync protocol: /tapestry/<runId>/sync/1.0.0. */
export function syncProtocol (runId: string): string {
  return `/tapestry/${runId}/sync/1.0.0`
}
export const SYNC_VERSION = 1
const MAX_SYNC_REQUEST_BYTES = 64
/** version, status, count, more and a model ref (a round and a CID string) */
const MAX_SYNC_HEADER_BYTES = 512
/** Most commits one response may carry, whatever either side asks. */
export const MAX_SYNC_COMMITS = 1024

/** The model a peer holds: the result of the commit of `round` (-1: the initial model). */
export interface ModelRef {
  round: number
  cid: string
}

export interface SyncServerOptions {
  /**
   * Signed commit envelopes (as received on gossip or produced by publishCommit) with round >=
   * `fromRound`, ascending, one per round. Returning up to `limit` is enough; more are cut.
   */
  getChain: (fromRound: number, limit: number) => Awaitable<Uint8Array[]>
  /** The current model, or undefined if this node holds none yet. */
  getModel: () => Awaitable<ModelRef | undefined>
  /**
   * Most commits per response (a requester may ask for fewer).
   *
   * @default 256
   */
  maxCommits?: number
  /**
   * Most commit bytes per response; the rest is left for the next request (`more`).
   *
   * @default 16 MiB
   */
  maxResponseBytes?: number
  /** @default 10_000 */
  requestTimeoutMs?: number
  /**
   * Requests one peer may make per window; beyond it the answer is UNAVAILABLE (the requester
   * moves on to another peer). A catch-up of a long chain takes a request per page.
   *
   * @default { count: 120, windowMs: 10_000 } (a catch-up of 30,000 commits in 256-commit pages fits)
   */
  perPeer?: RateLimit
  log?: Logger
}

/** Register the sync handler. Returns a function that unregisters it. */
export async function serveSync (host: TapestryHost, options: SyncServerOptions): Promise<{ stop: () => Promise<void> }> {
  const serverMax = Math.min(options.maxCommits ?? 256, MAX_SYNC_COMMITS)
  const maxBytes = options.maxResponseBytes ?? 16 * 1024 * 1024
  const log = options.log ?? host.log

  const limiter = new PeerRateLimiter(options.perPeer ?? { count: 120, windowMs: 10_000 })
  const handler = async (stream: Stream, connection: Connection): Promise<void> => {
    // the gater refused non-members at connection; a member removed since is refused here
    if (!host.admits(connection.remotePeer.toString())) {
      host.refused.streams++
      stream.abort(new NetError(NetErrorCode.BAD_INPUT, 'not a member of this run'))
      return
    }
    if (!limiter.take(connection.remotePeer.toString())) {
      try {
        await sendWithBackpressure(stream, lengthPrefixed(SyncResponse.encode({ version: SYNC_VERSION, status: SyncResponse.Status.UNAVAILABLE, count: 0, more: false })))
        await stream.close()
      } catch { stream.abort(new Error('sync refused: over the per-peer rate')) }
      log?.debug({ peer: connection.remotePeer.toString() }, 'sync request over the per-peer rate')
      return
    }
    const reader = new StreamReader(stream, { highWaterMark: 64 * 1024 })
    const timer = setTimeout(() => stream.abort(new NetError(NetErrorCode.TIMEOUT, 'no sync request in time')), options.requestTimeoutMs ?? 10_000)
    const respond = async (r: Omit<SyncResponse, 'version'>): Promise<void> => {
      await sendWithBackpressure(stream, lengthPrefixed(SyncResponse.encode({ version: SYNC_VERSION, ...r })))
    }
    try {
      let frame: Uint8Array
      try {
        frame = await reader.readFrame(MAX_SYNC_REQUEST_BYTES)
      } finally {
        clearTimeout(timer)
        reader.release()
      }
      let req: SyncRequest
      try {
        req = SyncRequest.decode(frame)
      } catch {
        req = { version: -1, fromRound: 0, maxCommits: 0 }
      }
      if (req.version !== SYNC_VERSION || !Number.isSafeInteger(req.fromRound)) {
        await respond({ status: SyncResponse.Status.BAD_REQUEST, count: 0, more: false })
        await stream.close()
        return
      }
      const limit = Math.max(0, Math.min(req.maxCommits === 0 ? serverMax : req.maxCommits, serverMax))
      let chain: Uint8Array[]
      let model: ModelRef | undefined
      try {
        chain = await options.getChain(req.fromRound, limit + 1)
        model = await options.getModel()
      } catch (err) {
        log?.error({ err }, 'sync: chain or model unavailable')
        await respond({ status: SyncResponse.Status.UNAVAILABLE, count: 0, more: false })
        await stream.close()
        return
      }
      const send: Uint8Array[] = []
      let bytes = 0
      for (const c of chain) {
        if (send.length === limit || bytes + c.byteLength > maxBytes) break
        send.push(c)
        bytes += c.byteLength
      }
      const more = chain.length > send.length
      await respond({ status: SyncResponse.Status.OK, count: send.length, more, model })
      for (const c of send) await sendWithBackpressure(stream, lengthPrefixed(c))
      await stream.close()
      log?.debug({ peer: connection.remotePeer.toString(), from: req.fromRound, sent: send.length, more }, 'sync served')
    } catch (err) {
      log?.debug({ err: String(err) }, 'sync stream failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  await host.libp2p.handle(syncProtocol(host.runId), handler, { maxInboundStreams: 4, runOnLimitedConnection: true })
  return { stop: async () => { await host.libp2p.unhandle(syncProtocol(host.runId)) } }
}

export interface RequestChainOptions {
  /** first round wanted */
  fromRound: number
  /** @default 256 */
  maxCommits?: number
  signal?: AbortSignal
  /** @default 30_000 */
  timeoutMs?: number
}

export interface ChainPage {
  peer: string
  /** verified commits of this run, strictly ascending rounds, all >= fromRound */
  commits: Array<Verified<Commit>>
  /** the chain goes on past the last commit: ask again from its round + 1 */
  more: boolean
  model?: ModelRef
}

/**
 * Ask `peer` for one page of the commit chain. Every commit is decoded and its signature
 * verified (ERR_NET_BAD_SIGNATURE etc.), must belong to this host's run, and rounds must strictly
 * increase from `fromRound`; otherwise TransferError ERR_NET_PROTOCOL.
 */
export async function requestChain (host: TapestryHost, peer: PeerId | string, options: RequestChainOptions): Promise<ChainPage> {
  const id = peer.toString()
  const maxCommits = Math.min(options.maxCommits ?? 256, MAX_SYNC_COMMITS)
  if (!Number.isSafeInteger(options.fromRound) || options.fromRound < 0) {
    throw new NetError(NetErrorCode.BAD_INPUT, `fromRound must be a non-negative integer, got ${options.fromRound}`)
  }
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 30_000)
  const signal = options.signal == null ? deadline : AbortSignal.any([options.signal, deadline])
  const fail = (code: NetErrorCode, message: string): TransferError => new TransferError(code, id, message)
  let stream: Stream
  try {
    stream = await dialMemberProtocol(host.libp2p, typeof peer === 'string' ? peerIdFromString(peer) : peer, syncProtocol(host.runId), { signal, negotiateFully: false, runOnLimitedConnection: true, log: host.log })
  } catch (err) {
    throw new TransferError(NetErrorCode.DIAL_FAILED, id, `cannot open sync stream: ${String(err)}`, {}, { cause: err })
  }
  const onAbort = (): void => stream.abort(fail(options.signal?.aborted === true ? NetErrorCode.ABORTED : NetErrorCode.TIMEOUT, 'sync request stopped'))
  signal.addEventListener('abort', onAbort)
  const reader = new StreamReader(stream, { highWaterMark: 2 * 1024 * 1024 })
  let ok = false
  try {
    stream.send(lengthPrefixed(SyncRequest.encode({ version: SYNC_VERSION, fromRound: options.fromRound, maxCommits })))
    await stream.close()
    const header = SyncResponse.decode(await reader.readFrame(MAX_SYNC_HEADER_BYTES))
    if (header.version !== SYNC_VERSION) throw fail(NetErrorCode.UNKNOWN_VERSION, `sync response version ${header.version}`)
    if (header.status === SyncResponse.Status.BAD_REQUEST) throw fail(NetErrorCode.BAD_REQUEST, 'peer refused the sync request')
    if (header.status === SyncResponse.Status.UNAVAILABLE) throw fail(NetErrorCode.UNAVAILABLE, 'peer cannot serve its chain')
    if (header.status !== SyncResponse.Status.OK) throw fail(NetErrorCode.PROTOCOL, `unknown sync status ${String(header.status)}`)
    if (header.count > maxCommits) throw fail(NetErrorCode.PROTOCOL, `peer announces ${header.count} commits, asked for at most ${maxCommits}`)
    let model: ModelRef | undefined
    if (header.model != null) {
      const m = header.model
      if (!Number.isSafeInteger(m.round) || m.round < -1 || !isBlobCidString(m.cid)) throw fail(NetErrorCode.PROTOCOL, 'malformed model reference')
      model = { round: m.round, cid: m.cid }
    }
    const commits: Array<Verified<Commit>> = []
    let last = options.fromRound - 1
    for (let i = 0; i < header.count; i++) {
      const bytes = (await reader.readFrame(MAX_GOSSIP_BYTES.commit)).slice()
      const v = await decodeCommit(bytes, { runId: host.runId })
      if (v.message.round <= last) throw fail(NetErrorCode.PROTOCOL, `commit round ${v.message.round} after ${last}: chain must strictly ascend from ${options.fromRound}`)
      last = v.message.round
      commits.push(v)
    }
    ok = true
    return { peer: id, commits, more: header.more, model }
  } catch (err) {
    if (err instanceof TransferError) throw err
    if (signal.aborted) throw fail(options.signal?.aborted === true ? NetErrorCode.ABORTED : NetErrorCode.TIMEOUT, 'sync request stopped')
    if (isNetError(err)) throw new TransferError(err.code, id, err.message, {}, { cause: err })
    throw new TransferError(NetErrorCode.STREAM_FAILED, id, `sync stream failed: ${String(err)}`, {}, { cause: err })
  } finally {
    signal.removeEventListener('abort', onAbort)
    reader.release()
    if (!ok && stream.status === 'open') stream.abort(new Error('sync abandoned'))
  }
}

export interface CatchUpOptions {
  fromRound: number
  /** cap on the model blob */
  maxModelBytes: number
  /**
   * Pages of the chain fetched at most; a chain longer than maxPages × maxCommits is left for
   * the next call.
   *
   * @default 64
   */
  maxPages?: number
  /** @default 256 */
  maxCommitsPerPage?: number
  signal?: AbortSignal
  /** per chain request @default 30_000 */
  timeoutMs?: number
  /** for the model fetch @default 300_000 */
  modelTimeoutMs?: number
  /** skip fetching the model (just the chain) @default false */
  skipModel?: boolean
  /** fetch the model's ranges over bulk transfer connections where providers offer them (blob.md §7) */
  bulk?: BulkFetchOptions
}

export interface CatchUpResult {
  /** the peer whose chain was taken */
  peer: string
  commits: Array<Verified<Commit>>
  /** true when maxPages ran out before the chain did */
  more: boolean
  model?: ModelRef
  /** the model's bytes, verified against model.cid */
  modelBytes?: Uint8Array
}

/**
 * Late-joiner catch-up: take the chain from the first peer that serves it (all pages), then
 * fetch the model it names from that peer first and the others after. Chain semantics (hash
 * links, whether model.cid is the last commit's newModelId) are the round layer's to check.
 */
export async function catchUp (host: TapestryHost, peers: ReadonlyArray<PeerId | string>, options: CatchUpOptions): Promise<CatchUpResult> {
  const failures: ProviderFailure[] = []
  for (const p of peers) {
    const peer = p.toString()
    if (peer === host.peerId) continue
    try {
      const commits: Array<Verified<Commit>> = []
      let from = options.fromRound
      let page: ChainPage | undefined
      for (let i = 0; i < (options.maxPages ?? 64); i++) {
        page = await requestChain(host, p, { fromRound: from, maxCommits: options.maxCommitsPerPage, signal: options.signal, timeoutMs: options.timeoutMs })
        commits.push(...page.commits)
        if (!page.more || page.commits.length === 0) break
        from = page.commits[page.commits.length - 1].message.round + 1
      }
      const result: CatchUpResult = { peer, commits, more: page?.more === true && page.commits.length > 0, model: page?.model }
      if (options.skipModel !== true && result.model != null) {
        const others = peers.filter(q => q.toString() !== peer)
        // the model is the one large transfer of a join: above one segment, up to 4 peers serve ranges of it
        result.modelBytes = await fetchBlob(host, result.model.cid, [p, ...others], {
          maxBytes: options.maxModelBytes, signal: options.signal, timeoutMs: options.modelTimeoutMs, parallel: 4, bulk: options.bulk
        })
      }
      return result
    } catch (err) {
      if (err instanceof FetchError) throw err
      if (options.signal?.aborted === true) throw new FetchError(NetErrorCode.ABORTED, 'catch-up aborted', failures)
      const e = isNetError(err) ? err : new NetError(NetErrorCode.STREAM_FAILED, String(err))
      failures.push({ peer, code: e.code, message: e.message })
    }
  }
  throw FetchError.from('catch-up', failures)
}
