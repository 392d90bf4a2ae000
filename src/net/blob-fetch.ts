// Requesting side of /tapestry/blob/1.0.0: fetch a blob from a list of providers, resuming on the
// next provider from the last byte received, and return it only once it hashes to its CID.
import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { FetchError, NetError, NetErrorCode, TransferError, isNetError } from './errors.js'
import { toBlobCid } from './cid.js'
import { StreamReader, lengthPrefixed } from './frame.js'
import { BLOB_PROTOCOL, BLOB_VERSION, MAX_BLOB_HEADER_BYTES } from './blob-server.js'
import { BlobRequest, BlobResponse } from './wire/blob.js'
import { YAMUX_SPEC_INITIAL_WINDOW } from './host.js'
import type { ProviderFailure } from './errors.js'
import type { BlobCid } from './cid.js'
import type { TapestryHost } from './host.js'
import type { Hash } from 'node:crypto'
import type { PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'

/** Receive window a fetch asks for up front (the host's yamux max window caps it). */
const FETCH_WINDOW_BYTES = 64 * 1024 * 1024

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
  /** Called after each received chunk. Must be cheap. */
  onProgress?: (p: FetchBlobProgress) => void
  log?: Logger
}

/** Bytes gathered so far; survives a change of provider so the next one resumes. */
interface Assembly {
  total: number | undefined
  buf: Uint8Array | undefined
  received: number
  hash: Hash
  contributors: Set<string>
}

function freshAssembly (): Assembly {
  return { total: undefined, buf: undefined, received: 0, hash: createHash('sha256'), contributors: new Set() }
}

/**
 * Fetch blob `cid` from `providers`, tried in order. A stream that breaks mid-way hands over to
 * the next provider at the received offset; a provider whose bytes do not hash to the CID is
 * dropped and the next one starts over. Throws FetchError (see its class comment for `code`)
 * with one ProviderFailure per failed attempt.
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
  let st = freshAssembly()

  for (const provider of providers) {
    const peer = provider.toString()
    if (peer === host.peerId) continue
    // a size disagreement restarts from zero with the same provider, once
    for (let tries = 0; tries < 2; tries++) {
      if (signal.aborted) throw stopped(what, options.signal, failures)
      try {
        const outcome = await attempt(host, target, provider, st, options, signal)
        if (outcome === 'restart') {
          st = freshAssembly()
          continue
        }
        const digest = st.hash.digest()
        if (equalBytes(digest, target.multihash.digest)) {
          log?.debug({ cid: target.toString(), bytes: st.received, from: [...st.contributors] }, 'blob fetched')
          return st.buf ?? new Uint8Array(0)
        }
        const blamed = [...st.contributors].join(',')
        failures.push({ peer: blamed, code: NetErrorCode.HASH_MISMATCH, message: `${st.received} bytes do not hash to ${target.toString()}` })
        st = freshAssembly()
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
}

function stopped (what: string, callerSignal: AbortSignal | undefined, failures: ProviderFailure[]): FetchError {
  const aborted = callerSignal?.aborted === true
  return new FetchError(aborted ? NetErrorCode.ABORTED : NetErrorCode.TIMEOUT, `${what}: ${aborted ? 'aborted' : 'deadline passed'}`, failures)
}

/** One request to one provider, appending to `st`. 'restart': sizes disagree, start over. */
async function attempt (host: TapestryHost, cid: BlobCid, provider: PeerId | string, st: Assembly, options: FetchBlobOptions, signal: AbortSignal): Promise<'done' | 'restart'> {
  const peer = provider.toString()
  let stream: Stream
  try {
    const peerId = typeof provider === 'string' ? peerIdFromString(provider) : provider
    // optimistic negotiation where the muxer supports it (the protocol id rides with the request)
    stream = await host.libp2p.dialProtocol(peerId, BLOB_PROTOCOL, { signal, negotiateFully: false })
  } catch (err) {
    throw new TransferError(NetErrorCode.DIAL_FAILED, peer, `cannot open blob stream: ${String(err)}`, {}, { cause: err, resumable: true })
  }
  const fail = (code: NetErrorCode, message: string, resumable = false): TransferError => new TransferError(code, peer, message, {}, { resumable })
  const onAbort = (): void => stream.abort(fail(NetErrorCode.ABORTED, 'aborted'))
  signal.addEventListener('abort', onAbort)
  const stallMs = options.stallTimeoutMs ?? 20_000
  let stallTimer: ReturnType<typeof setTimeout> | undefined
  const arm = (): void => {
    clearTimeout(stallTimer)
    stallTimer = setTimeout(() => stream.abort(fail(NetErrorCode.TIMEOUT, `no data for ${stallMs} ms`, true)), stallMs)
  }
  const reader = new StreamReader(stream, { highWaterMark: 8 * 1024 * 1024 })
  let ok = false
  try {
    arm()
    // before the request, so the window updates reach the provider ahead of it
    openReceiveWindow(stream, Math.min(options.maxBytes + MAX_BLOB_HEADER_BYTES, FETCH_WINDOW_BYTES))
    stream.send(lengthPrefixed(BlobRequest.encode({ version: BLOB_VERSION, cid: cid.bytes, offset: st.received, length: 0, maxSize: options.maxBytes })))
    await stream.close()
    let header: BlobResponse
    try {
      header = BlobResponse.decode(await reader.readFrame(MAX_BLOB_HEADER_BYTES))
    } catch (err) {
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
    if (st.total !== total || st.buf === undefined) {
      // providers disagree on the size: one of them lies, and only the hash can tell which
      if (st.received > 0) return 'restart'
      st.total = total
      st.buf = new Uint8Array(total)
    }
    if (header.length !== total - st.received) {
      throw fail(NetErrorCode.PROTOCOL, `provider offers ${header.length} bytes from ${st.received}, blob has ${total}`)
    }
    st.contributors.add(peer)
    while (st.received < total) {
      const chunk = await reader.readChunk()
      if (chunk === undefined) throw fail(NetErrorCode.TRUNCATED, `stream ended at ${st.received} of ${total} bytes`, true)
      if (st.received + chunk.byteLength > total) throw fail(NetErrorCode.PROTOCOL, `provider sent more than ${total} bytes`)
      st.buf.set(chunk, st.received)
      st.hash.update(chunk)
      st.received += chunk.byteLength
      arm()
      options.onProgress?.({ peer, received: st.received, total })
    }
    ok = true
    return 'done'
  } catch (err) {
    if (err instanceof TransferError) throw err
    // the stream was reset or failed under us: what arrived so far stays valid for a resume
    throw new TransferError(NetErrorCode.STREAM_FAILED, peer, `stream failed: ${String(err)}`, {}, { cause: err, resumable: true })
  } finally {
    clearTimeout(stallTimer)
    signal.removeEventListener('abort', onAbort)
    reader.release()
    // on success the provider closes its end; on failure free the stream now
    if (!ok && stream.status === 'open') stream.abort(new Error('blob fetch abandoned'))
  }
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
