// Requesting side of /tapestry/blob/1.0.0: fetch a blob from a list of providers, resuming on the
// next provider from the last byte received (or, for large blobs, from several providers at once in
// byte ranges), and return it only once it hashes to its CID.
import { blobHasher, hashWhole, type BlobHasher } from './blob-hasher.js'
import { FetchError, NetError, NetErrorCode, TransferError, isNetError } from './errors.js'
import { toBlobCid } from './cid.js'
import { lengthPrefixed, watchStall } from './frame.js'
import { BLOB_VERSION, DEFAULT_BULK_MIN_BYTES, MAX_BLOB_HEADER_BYTES } from './blob-server.js'
import { BlobRequest, BlobResponse } from './wire/blob.js'
import { YAMUX_SPEC_INITIAL_WINDOW } from './host.js'
import { BULK_TICKET_BYTES, BulkClient, bulkKey, ipOf } from './bulk.js'
import { openBlobStream, type BlobStreamLease } from './blob-streams.js'
import type { ProviderFailure } from './errors.js'
import type { BlobCid } from './cid.js'
import type { TapestryHost } from './host.js'
import type { PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'

/** Receive window a fetch asks for up front (the host's yamux max window caps it). */
const FETCH_WINDOW_BYTES = 64 * 1024 * 1024
/** Range a parallel fetch asks one provider for at a time. */
const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024

export interface FetchBlobProgress {
  peer: string
  received: number
  total: number
}

export interface FetchBlobOptions {
  /** Largest blob accepted. Checked against the provider's header before anything is allocated. */
  maxBytes: number
  signal?: AbortSignal
  /**
   * Deadline for the whole fetch, all providers included.
   *
   * @default 300_000
   */
  timeoutMs?: number
  /**
   * A provider that sends nothing for this long is dropped and the next one resumes.
   *
   * @default 20_000
   */
  stallTimeoutMs?: number
  /**
   * A provider whose data rate, measured over each `rateWindowMs` once its header arrived, falls
   * below this floor is dropped and the next one resumes: a trickle (1 byte every few seconds)
   * never trips the stall timeout but must not hold a round for the whole fetch deadline.
   *
   * @default 32_768 (32 KiB/s; 0 turns the floor off)
   */
  minBytesPerSecond?: number
  /** @default 3_000 */
  rateWindowMs?: number
  /** Called after each received chunk. Must be cheap. */
  onProgress?: (p: FetchBlobProgress) => void
  /**
   * Providers fetched from at once. Above 1, a blob larger than one segment comes in ranges (the
   * first `segmentBytes`, then about two ranges per provider) that the providers take in turn; a
   * provider that fails hands its unfinished range to the others. Each connection is then window-limited on its own, so over a
   * long path the rates add up. The whole blob is hashed at the end; if it does not match its
   * CID, the fetch starts over one provider at a time, which finds the liar.
   *
   * @default 1
   */
  parallel?: number
  /** @default 4 MiB */
  segmentBytes?: number
  /** Ask providers to send large ranges over a bulk TLS-PSK connection (blob.md §7); absent: never. */
  bulk?: BulkFetchOptions
  log?: Logger
}

export interface BulkFetchOptions {
  /** ask for ranges that may reach this many bytes @default 4 MiB */
  minBytes?: number
  /** connecting and the handshake, and the longest the provider may send nothing @default 3_000 */
  timeoutMs?: number
  /**
   * providers whose bulk port could not be reached, until when they are not asked again (ms since
   * the epoch); pass one map for all fetches so an unreachable port costs one timeout, not one per fetch
   */
  unreachable?: Map<string, number>
  /** how long an unreachable bulk port is left alone @default 600_000 */
  retryAfterMs?: number
  /** keeps bulk connections open between fetches (one per node); absent: one connection per range */
  client?: BulkClient
}

/** Bytes gathered so far; survives a change of provider so the next one resumes. */
interface Assembly {
  total: number | undefined
  buf: Uint8Array | undefined
  received: number
  /** the running hash of buf[0, received), made with buf */
  hash: BlobHasher | undefined
  contributors: Set<string>
}

/** A new assembly; the one it replaces, if any, gives up its running hash. */
function freshAssembly (old?: Assembly): Assembly {
  old?.hash?.dispose()
  return { total: undefined, buf: undefined, received: 0, hash: undefined, contributors: new Set() }
}

/**
 * Fetch blob `cid` from `providers`, tried in order. A stream that breaks mid-way hands over to
 * the next provider at the received offset; a provider whose bytes do not hash to the CID is
 * dropped and the next one starts over. With `parallel` > 1, a blob above one segment comes in
 * ranges from several providers at once first (see the option). Throws FetchError (see its
 * class comment for `code`) with one ProviderFailure per failed attempt.
 */
export async function fetchBlob (host: TapestryHost, cid: CID | string, providers: ReadonlyArray<PeerId | string>, options: FetchBlobOptions): Promise<Uint8Array> {
  const target = toBlobCid(cid)
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
    throw new NetError(NetErrorCode.BAD_INPUT, `maxBytes must be a non-negative safe integer, got ${options.maxBytes}`)
  }
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 300_000)
  const signal = options.signal == null ? deadline : AbortSignal.any([options.signal, deadline])
  const log = options.log ?? host.log
  const failures: ProviderFailure[] = []
  const what = `fetch ${target.toString()}`
  const parallel = options.parallel ?? 1
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new NetError(NetErrorCode.BAD_INPUT, `parallel must be a positive integer, got ${parallel}`)
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) throw new NetError(NetErrorCode.BAD_INPUT, `segmentBytes must be a positive integer, got ${segmentBytes}`)
  const others = providers.filter(p => p.toString() !== host.peerId)
  if (parallel > 1 && others.length > 1) {
    const got = await fetchParallel(host, target, others, parallel, segmentBytes, options, signal, failures)
    if (got !== undefined) return got
    log?.debug({ cid: target.toString() }, 'parallel fetch did not hash to its CID, starting over one provider at a time')
  }
  let st = freshAssembly()
  try {
    for (const provider of others) {
      const peer = provider.toString()
      // a size disagreement restarts from zero with the same provider, once
      for (let tries = 0; tries < 2; tries++) {
        if (signal.aborted) throw stopped(what, options.signal, failures)
        try {
          const outcome = await attempt(host, target, provider, st, options, signal)
          if (outcome === 'restart') {
            st = freshAssembly(st)
            continue
          }
          const digest = await (st.hash ?? blobHasher(new Uint8Array(0))).digest()
          if (equalBytes(digest, target.multihash.digest)) {
            log?.debug({ cid: target.toString(), bytes: st.received, from: [...st.contributors] }, 'blob fetched')
            return st.buf ?? new Uint8Array(0)
          }
          const blamed = [...st.contributors].join(',')
          failures.push({ peer: blamed, code: NetErrorCode.HASH_MISMATCH, message: `${st.received} bytes do not hash to ${target.toString()}` })
          st = freshAssembly(st)
          break
        } catch (err) {
          if (signal.aborted) throw stopped(what, options.signal, failures)
          const e = isNetError(err) ? err : new TransferError(NetErrorCode.STREAM_FAILED, peer, String(err), {}, { cause: err, resumable: true })
          failures.push({ peer, code: e.code, message: e.message })
          log?.debug({ peer, code: e.code, received: st.received, total: st.total }, 'blob provider failed, trying next')
          break
        }
      }
    }
    throw FetchError.from(what, failures)
  } finally {
    st.hash?.dispose() // an abandoned assembly's running hash (a no-op once digested)
  }
}

function stopped (what: string, callerSignal: AbortSignal | undefined, failures: ProviderFailure[]): FetchError {
  const aborted = callerSignal?.aborted === true
  return new FetchError(aborted ? NetErrorCode.ABORTED : NetErrorCode.TIMEOUT, `${what}: ${aborted ? 'aborted' : 'deadline passed'}`, failures)
}

/** One request to one provider, appending to `st`. 'restart': sizes disagree, start over. */
async function attempt (host: TapestryHost, cid: BlobCid, provider: PeerId | string, st: Assembly, options: FetchBlobOptions, signal: AbortSignal): Promise<'done' | 'restart'> {
  const peer = provider.toString()
  return await requestRange(host, cid, provider, st.received, 0, {
    begin: total => {
      if (st.total !== total || st.buf === undefined) {
        // providers disagree on the size: one of them lies, and only the hash can tell which
        if (st.received > 0) return 'restart'
        st.total = total
        st.buf = new Uint8Array(total)
        // the running hash belongs to its buffer
        st.hash?.dispose()
        st.hash = blobHasher(st.buf)
      }
      st.contributors.add(peer)
      return 'ok'
    },
    chunk: (bytes, at) => {
      st.buf!.set(bytes, at)
      st.received += bytes.byteLength
      st.hash!.advance(st.received)
      options.onProgress?.({ peer, received: st.received, total: st.total! })
    }
  }, options, signal)
}

/** Where one range request delivers: told the blob's size first, then each chunk at its offset. */
interface RangeSink {
  /** the provider's header was valid: the blob has `total` bytes. 'restart': refuse, sizes disagree */
  begin: (total: number) => 'ok' | 'restart'
  chunk: (bytes: Uint8Array, at: number) => void
}

/**
 * Ask `provider` for bytes [offset, offset + length) of `cid` (length 0: to the end) and hand them
 * to `sink`, on an idle blob stream to it if the host keeps one, else on a new stream. Throws
 * TransferError; `resumable` ones leave what the sink got valid.
 */
async function requestRange (host: TapestryHost, cid: BlobCid, provider: PeerId | string, offset: number, length: number, sink: RangeSink, options: FetchBlobOptions, signal: AbortSignal): Promise<'done' | 'restart'> {
  const kept = host.blobStreams.take(provider.toString())
  if (kept == null) return await requestOn(host, await openBlobStream(host, provider, signal), cid, provider, offset, length, sink, options, signal)
  try {
    return await requestOn(host, kept, cid, provider, offset, length, sink, options, signal)
  } catch (err) {
    // the provider ended the kept stream as the request went out (its idle limit, a restart):
    // nothing was answered, so this says nothing about the provider; ask again on a new stream
    if (!(err instanceof StaleStream) || signal.aborted) throw err
    return await requestOn(host, await openBlobStream(host, provider, signal), cid, provider, offset, length, sink, options, signal)
  }
}

/** A kept stream that ended before any answer to the request on it. */
class StaleStream extends TransferError {}

/** One request on `lease`'s stream; the stream goes back to the host's pool when its response came in whole. */
async function requestOn (host: TapestryHost, lease: BlobStreamLease, cid: BlobCid, provider: PeerId | string, offset: number, length: number, sink: RangeSink, options: FetchBlobOptions, signal: AbortSignal): Promise<'done' | 'restart'> {
  const peer = provider.toString()
  const { stream, reader } = lease
  const fail = (code: NetErrorCode, message: string, resumable = false): TransferError => new TransferError(code, peer, message, {}, { resumable })
  const onAbort = (): void => stream.abort(fail(NetErrorCode.ABORTED, 'aborted'))
  signal.addEventListener('abort', onAbort)
  const stallMs = options.stallTimeoutMs ?? 20_000
  let stall: ReturnType<typeof watchStall> | undefined
  // the rate floor: bytes of the current window against minBytesPerSecond, checked at each window's end
  const floor = options.minBytesPerSecond ?? 32_768
  const windowMs = options.rateWindowMs ?? 3_000
  let windowBytes = 0
  let rateTimer: ReturnType<typeof setInterval> | undefined
  const startRateFloor = (left: number): void => {
    if (floor <= 0 || left <= 0) return
    rateTimer = setInterval(() => {
      const rate = windowBytes * 1000 / windowMs
      windowBytes = 0
      if (rate < floor) stream.abort(fail(NetErrorCode.TIMEOUT, `provider sends ${Math.round(rate)} B/s, below the floor of ${floor} B/s`, true))
    }, windowMs)
  }
  const expectedRange = length === 0 ? options.maxBytes - offset : length
  const bulkTo = options.bulk != null && expectedRange >= (options.bulk.minBytes ?? DEFAULT_BULK_MIN_BYTES) ? bulkAddress(host, peer, options.bulk) : undefined
  const key = bulkTo != null ? bulkKey() : undefined
  let ok = false
  try {
    stall = watchStall(stallMs, () => stream.abort(fail(NetErrorCode.TIMEOUT, `no data for ${stallMs} ms`, true)))
    // before the request, so the window updates reach the provider ahead of it
    const expected = length === 0 ? options.maxBytes : length
    openReceiveWindow(stream, Math.min(expected + MAX_BLOB_HEADER_BYTES, FETCH_WINDOW_BYTES))
    // the writing side stays open: the stream may carry the next request (blob.md §2)
    stream.send(lengthPrefixed(BlobRequest.encode({ version: BLOB_VERSION, cid: cid.bytes, offset, length, maxSize: options.maxBytes, bulkKey: key != null ? new Uint8Array(key) : undefined })))
    let header: BlobResponse
    try {
      header = BlobResponse.decode(await reader.readFrame(MAX_BLOB_HEADER_BYTES))
    } catch (err) {
      const ended = reader.bufferedBytes === 0 && (!isNetError(err) || err.code === NetErrorCode.TRUNCATED || err.code === NetErrorCode.STREAM_FAILED)
      if (lease.reused && ended && !signal.aborted) throw new StaleStream(NetErrorCode.STREAM_FAILED, peer, `kept stream ended before an answer: ${String(err)}`, {}, { cause: err, resumable: true })
      if (isNetError(err) && !(err instanceof TransferError)) throw fail(err.code, err.message, err.code === NetErrorCode.TRUNCATED)
      throw err
    }
    switch (header.status) {
      case BlobResponse.Status.OK: break
      case BlobResponse.Status.NOT_FOUND: throw fail(NetErrorCode.NOT_FOUND, 'blob not found')
      case BlobResponse.Status.TOO_LARGE: throw fail(NetErrorCode.OVERSIZED, `blob of ${header.totalSize} bytes exceeds cap ${options.maxBytes}`)
      case BlobResponse.Status.BUSY: throw fail(NetErrorCode.BUSY, 'provider busy', true)
      case BlobResponse.Status.BAD_REQUEST: throw fail(NetErrorCode.BAD_REQUEST, 'provider refused the request')
      default: throw fail(NetErrorCode.PROTOCOL, `unknown status ${String(header.status)}`)
    }
    if (header.version !== BLOB_VERSION) throw fail(NetErrorCode.UNKNOWN_VERSION, `response version ${header.version}`)
    const total = header.totalSize
    if (!Number.isSafeInteger(total) || total < 0) throw fail(NetErrorCode.PROTOCOL, `bad total size ${total}`)
    // checked before allocating: a provider cannot make us reserve more than our cap
    if (total > options.maxBytes) throw fail(NetErrorCode.OVERSIZED, `provider announces ${total} bytes, cap is ${options.maxBytes}`)
    if (offset > total) throw fail(NetErrorCode.PROTOCOL, `provider has ${total} bytes, asked from ${offset}`)
    if (sink.begin(total) === 'restart') return 'restart'
    const end = length === 0 ? total : Math.min(total, offset + length)
    if (header.length !== end - offset) {
      throw fail(NetErrorCode.PROTOCOL, `provider offers ${header.length} bytes from ${offset}, range has ${end - offset}`)
    }
    let pos = offset
    if (header.bulkPort !== 0) {
      if (key == null || bulkTo == null || header.bulkPort > 65535 || header.bulkTicket.byteLength !== BULK_TICKET_BYTES) throw fail(NetErrorCode.PROTOCOL, 'provider offered a bulk transfer that was not asked for, or a malformed one')
      stall.stop()
      const bulk = options.bulk!
      const ctl = new AbortController()
      const onOuter = (): void => ctl.abort()
      signal.addEventListener('abort', onOuter)
      rateTimer = floor > 0 ? setInterval(() => { if (windowBytes * 1000 / windowMs < floor) ctl.abort(fail(NetErrorCode.TIMEOUT, `provider sends ${Math.round(windowBytes * 1000 / windowMs)} B/s, below the floor of ${floor} B/s`, true)); windowBytes = 0 }, windowMs) : undefined
      try {
        await (bulk.client ?? new BulkClient({ maxIdlePerProvider: 0 })).receive({
          ip: bulkTo, port: header.bulkPort, ticket: header.bulkTicket, key, length: end - offset, peer, signal: ctl.signal, timeoutMs: bulk.timeoutMs ?? 3_000,
          onChunk: bytes => { sink.chunk(bytes, pos); pos += bytes.byteLength; windowBytes += bytes.byteLength }
        })
      } catch (err) {
        if (!(err instanceof TransferError) || err.code !== NetErrorCode.DIAL_FAILED || signal.aborted) throw err
        // the port cannot be reached from here (firewall, NAT): this range and later ones go over the stream
        bulk.unreachable?.set(peer, Date.now() + (bulk.retryAfterMs ?? 600_000))
        ;(options.log ?? host.log)?.debug({ peer, ip: bulkTo, port: header.bulkPort, err: err.message }, 'bulk transfer port unreachable, fetching over the stream')
        return await requestRange(host, cid, provider, offset, length, sink, { ...options, bulk: undefined }, signal)
      } finally {
        signal.removeEventListener('abort', onOuter)
      }
      ok = true
      return 'done'
    }
    startRateFloor(end - offset)
    while (pos < end) {
      const chunk = await reader.readChunk()
      if (chunk === undefined) throw fail(NetErrorCode.TRUNCATED, `stream ended at ${pos} of ${end} bytes`, true)
      if (pos + chunk.byteLength > end) throw fail(NetErrorCode.PROTOCOL, `provider sent more than ${end - offset} bytes`)
      sink.chunk(chunk, pos)
      pos += chunk.byteLength
      windowBytes += chunk.byteLength
      stall.touch()
    }
    ok = true
    return 'done'
  } catch (err) {
    if (err instanceof TransferError) throw err
    // the stream was reset or failed under us: what arrived so far stays valid for a resume
    throw new TransferError(NetErrorCode.STREAM_FAILED, peer, `stream failed: ${String(err)}`, {}, { cause: err, resumable: true })
  } finally {
    stall?.stop()
    clearInterval(rateTimer)
    signal.removeEventListener('abort', onAbort)
    if (ok) {
      // the response is complete: the stream may carry the next request to this provider
      host.blobStreams.give(peer, lease)
    } else {
      reader.release()
      if (stream.status === 'open') stream.abort(new Error('blob fetch abandoned'))
    }
  }
}

/**
 * The IP address to reach `peer`'s bulk port at: the remote address of a direct (not relayed)
 * connection to it; undefined when there is none, or its port failed recently.
 */
function bulkAddress (host: TapestryHost, peer: string, bulk: BulkFetchOptions): string | undefined {
  const until = bulk.unreachable?.get(peer)
  if (until != null) {
    if (until > Date.now()) return undefined
    bulk.unreachable?.delete(peer)
  }
  for (const c of host.libp2p.getConnections()) {
    if (c.remotePeer.toString() !== peer || c.limits != null) continue
    const ip = ipOf(c.remoteAddr, ['tcp', 'udp'])
    if (ip != null) return ip
  }
  return undefined
}

/**
 * Parallel fetch: the first provider is asked for the first segment, and as soon as its header
 * gives the size, the rest is cut into ranges that up to `parallel` providers take in turn (the
 * first one too, once its segment is in). Undefined: the bytes do not hash to the CID (the caller
 * starts over one provider at a time). Throws FetchError when no provider is left for a range.
 */
async function fetchParallel (host: TapestryHost, cid: BlobCid, providers: ReadonlyArray<PeerId | string>, parallel: number, segmentBytes: number, options: FetchBlobOptions, signal: AbortSignal, failures: ProviderFailure[]): Promise<Uint8Array | undefined> {
  const what = `fetch ${cid.toString()}`
  const log = options.log ?? host.log
  let total: number | undefined
  let buf: Uint8Array | undefined
  let received = 0
  let sized: () => void = () => {}
  const sizeKnown = new Promise<void>(resolve => { sized = resolve })
  const contributors = new Set<string>()
  /** ranges not yet received, as [offset, end) */
  const missing: Array<{ offset: number, end: number }> = []
  const idle: Array<PeerId | string> = []
  const pool = [...providers]
  const running = new Set<Promise<void>>()

  /** Fetch [offset, end) from `p` into buf (end unknown before the size is: one segment); returns where it stopped. */
  const fetchRange = async (p: PeerId | string, offset: number, end: number | undefined): Promise<{ stoppedAt: number, asked: number, err?: unknown }> => {
    const peer = p.toString()
    const asked = end ?? offset + segmentBytes
    let pos = offset
    try {
      const r = await requestRange(host, cid, p, offset, asked - offset, {
        begin: t => {
          if (total === undefined) { total = t; buf = new Uint8Array(t); sized() }
          // one of the two lies about the size; the other providers will settle it
          return t === total ? 'ok' : 'restart'
        },
        chunk: (bytes, at) => {
          buf!.set(bytes, at)
          pos = at + bytes.byteLength
          received += bytes.byteLength
          options.onProgress?.({ peer, received, total: total! })
        }
      }, options, signal)
      if (r === 'restart') throw new TransferError(NetErrorCode.PROTOCOL, peer, `provider's size differs from ${String(total)}`)
      contributors.add(peer)
      return { stoppedAt: Math.min(asked, total!), asked }
    } catch (err) {
      if (pos > offset) contributors.add(peer)
      return { stoppedAt: pos, asked, err }
    }
  }

  /** A provider's job: `first` if given, then the next missing range until none is left. */
  const start = (p: PeerId | string, first?: { offset: number, end: number | undefined }): void => {
    const job = (async () => {
      for (let range = first ?? missing.shift(); range !== undefined; range = missing.shift()) {
        const r = await fetchRange(p, range.offset, range.end)
        if (r.err === undefined) continue
        // what it did not deliver goes back for the others (once the size says what that is)
        const end = Math.min(r.asked, total ?? 0)
        if (r.stoppedAt < end) missing.unshift({ offset: r.stoppedAt, end })
        const e = isNetError(r.err) ? r.err : new TransferError(NetErrorCode.STREAM_FAILED, p.toString(), String(r.err))
        failures.push({ peer: p.toString(), code: e.code, message: e.message })
        log?.debug({ peer: p.toString(), code: e.code }, 'blob provider failed, its range goes to the others')
        if (!signal.aborted) spawn() // a replacement takes the returned range
        return
      }
      idle.push(p)
    })()
    running.add(job)
    void job.finally(() => running.delete(job))
  }
  const spawn = (): void => {
    if (missing.length === 0) return
    const p = idle.shift() ?? pool.shift()
    if (p !== undefined) start(p)
  }

  // the size: from the first provider whose header arrives (`start` sets `total` from a callback)
  // eslint-disable-next-line no-unmodified-loop-condition
  while (total === undefined) {
    const p = pool.shift()
    if (p === undefined || signal.aborted) break
    start(p, { offset: 0, end: undefined })
    // eslint-disable-next-line no-unmodified-loop-condition
    while (total === undefined && running.size > 0) await Promise.race([sizeKnown, ...running])
  }
  if (total !== undefined) {
    // a few ranges per provider: large enough that a request's round trip is small beside its
    // transfer, small enough that a fast provider takes over from a slow one
    const firstEnd = Math.min(segmentBytes, total)
    const rangeBytes = Math.max(segmentBytes, Math.ceil((total - firstEnd) / (2 * parallel)))
    for (let o = firstEnd; o < total; o += rangeBytes) missing.push({ offset: o, end: Math.min(total, o + rangeBytes) })
    while (running.size < parallel && missing.length > 0 && (idle.length > 0 || pool.length > 0)) spawn()
  }
  while (running.size > 0) await Promise.race(running)
  if (signal.aborted) throw stopped(what, options.signal, failures)
  if (total === undefined || missing.length > 0) throw FetchError.from(what, failures)

  const digest = await hashWhole(buf!)
  if (equalBytes(digest, cid.multihash.digest)) {
    log?.debug({ cid: cid.toString(), bytes: total, from: [...contributors] }, 'blob fetched in parallel')
    return buf!
  }
  failures.push({ peer: [...contributors].join(','), code: NetErrorCode.HASH_MISMATCH, message: `${total} bytes from ${contributors.size} providers do not hash to ${cid.toString()}` })
  return undefined
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Let the provider send `bytes` right away instead of ramping up from yamux's 256 KiB initial
 * window. A fresh yamux stream grants more window only as data arrives, doubling at most once
 * per frame, which costs several RTTs per stream before a long fat link fills. Yamux (chainsafe
 * 8) sends a window update on `resume()` and doubles the window when that update comes within
 * 4 RTTs of the last one, so a few pause/resume pairs before the request grant the window
 * through the public stream API: standard window-update frames, nothing new on the wire. The
 * muxer still caps the window at its `maxStreamWindowSize`; on another muxer this is a no-op.
 */
function openReceiveWindow (stream: Stream, bytes: number): void {
  // a paused stream keeps receiving what it granted: it must be able to hold it, not reset itself
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, bytes)
  if (bytes <= YAMUX_SPEC_INITIAL_WINDOW) return
  // the first pair only restarts yamux's RTT clock (negotiation may have taken longer than 4 RTTs
  // of a loopback ping), each further pair doubles the window
  stream.pause()
  stream.resume()
  for (let window = YAMUX_SPEC_INITIAL_WINDOW, i = 0; window < bytes && i < 16; window *= 2, i++) {
    stream.pause()
    stream.resume()
  }
}
