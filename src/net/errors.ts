// Typed errors of the net layer: every refusal carries a stable `code` so the daemon can score
// peers and tests can assert, without ever parsing message text.

/**
 * Stable error codes, `ERR_NET_<WHAT>` and unique across the project. Values are part of the
 * public API (CLI stderr, control API; none travels to peers): never rename, only add.
 */
export const NetErrorCode = {
  /** caller handed us something unusable (bad option, message for another run or peer) */
  BAD_INPUT: 'ERR_NET_BAD_INPUT',
  /** bytes end before the message or the announced length does */
  TRUNCATED: 'ERR_NET_TRUNCATED',
  /** a message, frame or blob is larger than the cap that applies to it */
  OVERSIZED: 'ERR_NET_OVERSIZED',
  /** not a parseable message, or a field outside its domain */
  MALFORMED: 'ERR_NET_MALFORMED',
  /**
   * decodes, but is not the one canonical byte form (protobuf: re-encoding differs — an unknown,
   * repeated or out-of-order field, an explicit default, a long varint; a CID: not CIDv1 base32
   * lowercase, or not its minimal binary form), so one message or blob would have two ids
   */
  NON_CANONICAL: 'ERR_NET_NON_CANONICAL',
  /** wire version this decoder does not speak */
  UNKNOWN_VERSION: 'ERR_NET_UNKNOWN_VERSION',
  /** envelope signature does not verify against its public key */
  BAD_SIGNATURE: 'ERR_NET_BAD_SIGNATURE',
  /** the signer is not the author the message names */
  PEER_ID_MISMATCH: 'ERR_NET_PEER_ID_MISMATCH',
  /** envelope holds another kind of message than the one expected here */
  WRONG_KIND: 'ERR_NET_WRONG_KIND',
  /** message belongs to another run */
  WRONG_RUN: 'ERR_NET_WRONG_RUN',
  /** not a CIDv1 / raw (0x55) / sha2-256 content id */
  BAD_CID: 'ERR_NET_BAD_CID',
  /** provider does not hold the blob */
  NOT_FOUND: 'ERR_NET_NOT_FOUND',
  /** received bytes do not hash to the CID */
  HASH_MISMATCH: 'ERR_NET_HASH_MISMATCH',
  /** remote broke the protocol: extra bytes, inconsistent sizes, unknown status */
  PROTOCOL: 'ERR_NET_PROTOCOL',
  /** remote refused our request as malformed */
  BAD_REQUEST: 'ERR_NET_BAD_REQUEST',
  /** remote is at its transfer limit; try another or later */
  BUSY: 'ERR_NET_BUSY',
  /** remote has nothing to serve yet (sync) */
  UNAVAILABLE: 'ERR_NET_UNAVAILABLE',
  /** the host could not listen on a configured address (in use, not available here) */
  LISTEN_FAILED: 'ERR_NET_LISTEN_FAILED',
  /** could not open a connection or a protocol stream to the peer */
  DIAL_FAILED: 'ERR_NET_DIAL_FAILED',
  /** stream was reset or failed mid-way */
  STREAM_FAILED: 'ERR_NET_STREAM_FAILED',
  /** deadline passed, or a provider stalled longer than allowed */
  TIMEOUT: 'ERR_NET_TIMEOUT',
  /** the caller's AbortSignal fired */
  ABORTED: 'ERR_NET_ABORTED',
  /** fetch given no provider to ask */
  NO_PROVIDERS: 'ERR_NET_NO_PROVIDERS',
  /** every provider failed, for different reasons (see `failures`) */
  ALL_PROVIDERS_FAILED: 'ERR_NET_ALL_PROVIDERS_FAILED'
} as const

export type NetErrorCode = typeof NetErrorCode[keyof typeof NetErrorCode]

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(NetErrorCode))

type Detail = Record<string, string | number | boolean>

/** Base of every error thrown by src/net. `detail` holds machine-readable fields. */
export class NetError extends Error {
  readonly code: NetErrorCode
  readonly detail: Readonly<Detail>

  constructor (code: NetErrorCode, message: string, detail: Detail = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NetError'
    this.code = code
    this.detail = detail
  }
}

/** A gossip message or signed envelope was refused while decoding or verifying. */
export class WireError extends NetError {
  constructor (code: NetErrorCode, message: string, detail: Detail = {}, options?: { cause?: unknown }) {
    super(code, message, detail, options)
    this.name = 'WireError'
  }
}

/** One stream exchange (blob or sync) with one peer failed; `peer` says which. */
export class TransferError extends NetError {
  readonly peer: string
  /** true when another provider may continue from the bytes already received */
  readonly resumable: boolean

  constructor (code: NetErrorCode, peer: string, message: string, detail: Detail = {}, options?: { cause?: unknown, resumable?: boolean }) {
    super(code, `${peer}: ${message}`, { peer, ...detail }, options)
    this.name = 'TransferError'
    this.peer = peer
    this.resumable = options?.resumable ?? false
  }
}

/** What went wrong with one provider, as kept in a fetch's failure list. */
export interface ProviderFailure {
  peer: string
  code: NetErrorCode
  message: string
}

/**
 * A fetch gave up. `code` is the providers' common failure code when they all failed the same
 * way (so "every provider said not found" reads as ERR_NET_NOT_FOUND), else ERR_NET_ALL_PROVIDERS_FAILED;
 * deadline and caller abort are reported as ERR_NET_TIMEOUT / ERR_NET_ABORTED whatever came before.
 */
export class FetchError extends NetError {
  readonly failures: readonly ProviderFailure[]

  constructor (code: NetErrorCode, message: string, failures: readonly ProviderFailure[], detail: Detail = {}) {
    super(code, message, { ...detail, failures: failures.length })
    this.name = 'FetchError'
    this.failures = failures
  }

  /** Collapse per-provider failures into one error, by the rule in the class comment. */
  static from (what: string, failures: readonly ProviderFailure[]): FetchError {
    if (failures.length === 0) return new FetchError(NetErrorCode.NO_PROVIDERS, `${what}: no providers`, failures)
    const codes = new Set(failures.map(f => f.code))
    const code = codes.size === 1 ? failures[0].code : NetErrorCode.ALL_PROVIDERS_FAILED
    const summary = failures.map(f => `${f.peer.slice(-8)}=${f.code}`).join(', ')
    return new FetchError(code, `${what}: all ${failures.length} provider(s) failed (${summary})`, failures)
  }
}

/**
 * A protobuf decode failure as a WireError: protons reports reads past the end as RangeError
 * "index out of range", which is a truncation; anything else is malformed.
 */
export function decodeError (what: string, err: unknown): WireError {
  if (err instanceof RangeError && /index out of range/.test(err.message)) {
    return new WireError(NetErrorCode.TRUNCATED, `${what} ends early`, {}, { cause: err })
  }
  return new WireError(NetErrorCode.MALFORMED, `undecodable ${what}`, {}, { cause: err })
}

/** True when `e` is one of ours with a known code. */
export function isNetError (e: unknown): e is NetError {
  return e instanceof NetError && ALL_CODES.has(e.code)
}

/** Hostile strings can be long: keep messages bounded. */
export function clip (s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s
}
