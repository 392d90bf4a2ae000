// Bulk blob transfer beside libp2p (protocols/blob.md §7): a large range is sent over a TCP
// connection of its own with Node's TLS, keyed with a pre-shared key the requester chose and sent
// inside its libp2p blob request (already encrypted and authenticated to the provider's peer id).
// Why: TLS + yamux in JS moves a blob at 0.12–0.14× raw TCP on loopback, Node's TLS on a bare
// socket at 0.28–0.53× (bench net); the libp2p stream stays the fallback and the only path over
// relays. The cipher suite is TLS 1.2 PSK-AES256-GCM-SHA384: Node offers external PSKs only up
// to TLS 1.2, and a key used for one transfer and then forgotten needs no forward secrecy.
import { randomBytes } from 'node:crypto'
import { createServer, connect, type TLSSocket, type Server } from 'node:tls'
import { isIP } from 'node:net'
import { NetError, NetErrorCode, TransferError } from './errors.js'
import type { Logger } from 'pino'

export const BULK_CIPHERS = 'PSK-AES256-GCM-SHA384'
export const BULK_KEY_BYTES = 32
export const BULK_TICKET_BYTES = 16
const TLS_VERSION = 'TLSv1.2'
/** bytes handed to the socket per write; backpressure waits on 'drain' between them */
const CHUNK = 1024 * 1024

export interface BulkServerOptions {
  /** IP address to listen on (the host's TCP listen address; 0.0.0.0 or :: for all) */
  listenIp: string
  /** @default 0 (any free port) */
  port?: number
  /** the port requesters are told to connect to, where a port forward maps another one to ours @default the port listened on */
  advertisePort?: number
  /** tickets outstanding at once; more are not offered (the range goes over the stream) @default 64 */
  maxTickets?: number
  /** tickets one peer may hold at once: each pins its range in memory until used or expired @default 4 */
  maxTicketsPerPeer?: number
  /** how long a ticket waits for its connection @default 10_000 */
  ticketTtlMs?: number
  /** connections open at once, handshaking or sending @default 64 */
  maxConnections?: number
  /** TLS handshake deadline; also the longest a connection may send nothing @default 10_000 */
  timeoutMs?: number
  log?: Logger
}

interface Ticket {
  key: Buffer
  bytes: Uint8Array
  peer: string
  expires: NodeJS.Timeout
}

/**
 * The provider's side: tickets for ranges the blob server agreed to send, and a TLS-PSK listener
 * that sends a ticket's bytes to the connection that proves its key, once. A connection without a
 * valid ticket fails the handshake (no certificate, no PSK, no cipher in common).
 */
export class BulkServer {
  private readonly tickets = new Map<string, Ticket>()
  private readonly claimed = new WeakMap<TLSSocket, Ticket>()
  private readonly server: Server
  private readonly opts: Required<Omit<BulkServerOptions, 'log' | 'port' | 'advertisePort'>> & Pick<BulkServerOptions, 'log' | 'advertisePort'>
  private closed = false
  private open = 0
  readonly stats = { transfers: 0, bytes: 0, refused: 0 }

  private constructor (opts: BulkServerOptions) {
    this.opts = { maxTickets: 64, maxTicketsPerPeer: 4, ticketTtlMs: 10_000, maxConnections: 64, timeoutMs: 10_000, ...opts }
    this.server = createServer({
      minVersion: TLS_VERSION,
      maxVersion: TLS_VERSION,
      ciphers: BULK_CIPHERS,
      handshakeTimeout: this.opts.timeoutMs,
      // the key of the ticket the client names, used up here: a second connection with it fails
      pskCallback: (socket, identity) => {
        const t = this.tickets.get(identity)
        if (t == null) { this.stats.refused++; return null }
        this.tickets.delete(identity)
        clearTimeout(t.expires)
        this.claimed.set(socket, t)
        return t.key
      }
    }, sock => { this.send(sock) })
    this.server.maxConnections = this.opts.maxConnections
    this.server.on('connection', sock => {
      this.open++
      sock.once('close', () => { this.open-- })
      sock.on('error', () => {})
    })
    this.server.on('tlsClientError', () => {})
  }

  /** Listen; throws ERR_NET_LISTEN_FAILED naming the address when that is impossible. */
  static async listen (opts: BulkServerOptions): Promise<BulkServer> {
    const s = new BulkServer(opts)
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', err => reject(new NetError(NetErrorCode.LISTEN_FAILED, `bulk transfer port ${opts.listenIp}:${opts.port ?? 0}: ${err.message}`, {}, { cause: err })))
      s.server.listen(opts.port ?? 0, opts.listenIp, () => resolve())
    })
    s.server.on('error', err => { opts.log?.warn({ err: err.message }, 'bulk transfer listener error') })
    return s
  }

  /** the port requesters connect to; 0 once closed */
  get port (): number {
    const a = this.server.address()
    if (this.closed || typeof a !== 'object' || a == null) return 0
    return this.opts.advertisePort ?? a.port
  }

  /** connections open now */
  get connections (): number { return this.open }

  /**
   * A ticket for sending `bytes` to `peer` over a connection keyed with `key`; undefined when the
   * key is not 32 bytes or too many tickets are outstanding (the caller sends over its stream).
   */
  offer (key: Uint8Array, bytes: Uint8Array, peer: string): Uint8Array<ArrayBuffer> | undefined {
    if (this.port === 0 || key.byteLength !== BULK_KEY_BYTES || this.tickets.size >= this.opts.maxTickets) return undefined
    let held = 0
    for (const t of this.tickets.values()) if (t.peer === peer) held++
    if (held >= this.opts.maxTicketsPerPeer) return undefined
    const ticket = new Uint8Array(randomBytes(BULK_TICKET_BYTES))
    const id = Buffer.from(ticket).toString('hex')
    const expires = setTimeout(() => { this.tickets.delete(id) }, this.opts.ticketTtlMs)
    expires.unref()
    this.tickets.set(id, { key: Buffer.from(key), bytes, peer, expires })
    return ticket
  }

  private send (sock: TLSSocket): void {
    const t = this.claimed.get(sock)
    if (t == null) { sock.destroy(); return }
    sock.setTimeout(this.opts.timeoutMs, () => sock.destroy())
    let off = 0
    const more = (): void => {
      while (off < t.bytes.byteLength) {
        const chunk = t.bytes.subarray(off, off + CHUNK)
        off += chunk.byteLength
        this.stats.bytes += chunk.byteLength
        if (!sock.write(chunk)) { sock.once('drain', more); return }
      }
      this.stats.transfers++
      sock.end()
      this.opts.log?.debug({ peer: t.peer, bytes: t.bytes.byteLength }, 'blob range sent over bulk transfer')
    }
    more()
  }

  async close (): Promise<void> {
    this.closed = true
    for (const t of this.tickets.values()) clearTimeout(t.expires)
    this.tickets.clear()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

export interface BulkReceive {
  /** the provider's IP address on the libp2p connection the request went over */
  ip: string
  port: number
  ticket: Uint8Array
  key: Uint8Array
  /** exactly this many bytes are expected */
  length: number
  peer: string
  signal: AbortSignal
  /** deadline for connecting and the handshake; also the longest the provider may send nothing */
  timeoutMs: number
  /** each chunk as it arrives, in order */
  onChunk: (bytes: Uint8Array) => void
}

/**
 * The requester's side: connect, prove the key, read `length` bytes. Before the handshake is
 * done a failure is DIAL_FAILED (the port is unreachable: firewall, NAT), after it the bytes
 * received so far are valid and the error is resumable.
 */
export async function receiveBulk (r: BulkReceive): Promise<void> {
  if (isIP(r.ip) === 0) throw new TransferError(NetErrorCode.DIAL_FAILED, r.peer, `bulk transfer needs an IP address, got ${r.ip}`)
  const identity = Buffer.from(r.ticket).toString('hex')
  const key = Buffer.from(r.key)
  await new Promise<void>((resolve, reject) => {
    let got = 0
    let secure = false
    const sock = connect({
      host: r.ip,
      port: r.port,
      minVersion: TLS_VERSION,
      maxVersion: TLS_VERSION,
      ciphers: BULK_CIPHERS,
      // no certificate: the PSK authenticates both ends
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: key, identity })
    })
    let settled = false
    const fail = (code: NetErrorCode, message: string): void => {
      if (settled) return
      settled = true
      cleanup()
      sock.destroy()
      reject(new TransferError(secure ? code : NetErrorCode.DIAL_FAILED, r.peer, `bulk transfer: ${message}`, {}, { resumable: secure }))
    }
    // a caller that aborts with a TransferError (a rate floor) has that error thrown as it is
    const onAbort = (): void => {
      const why: unknown = r.signal.reason
      if (why instanceof TransferError && !settled) { settled = true; cleanup(); sock.destroy(); reject(why) } else fail(NetErrorCode.ABORTED, 'aborted')
    }
    const cleanup = (): void => { r.signal.removeEventListener('abort', onAbort) }
    r.signal.addEventListener('abort', onAbort)
    sock.setTimeout(r.timeoutMs, () => fail(NetErrorCode.TIMEOUT, `no progress for ${r.timeoutMs} ms`))
    sock.once('secureConnect', () => {
      // the server must have taken our PSK (no other suite is offered), i.e. it knew the key
      if (sock.getCipher().standardName !== 'TLS_PSK_WITH_AES_256_GCM_SHA384') { fail(NetErrorCode.PROTOCOL, `unexpected cipher ${sock.getCipher().standardName}`); return }
      secure = true
    })
    sock.on('data', (d: Buffer) => {
      if (got + d.byteLength > r.length) { fail(NetErrorCode.PROTOCOL, `provider sent more than ${r.length} bytes`); return }
      got += d.byteLength
      r.onChunk(d)
    })
    sock.once('end', () => {
      if (got === r.length && !settled) { settled = true; cleanup(); sock.end(); resolve() } else fail(NetErrorCode.TRUNCATED, `connection ended at ${got} of ${r.length} bytes`)
    })
    sock.once('error', err => fail(NetErrorCode.STREAM_FAILED, err.message))
    // closed without a TLS close (a reset, a kill): short, whatever arrived
    sock.once('close', () => fail(NetErrorCode.TRUNCATED, `connection closed at ${got} of ${r.length} bytes`))
  })
}

/** A fresh key for a bulk request. */
export function bulkKey (): Uint8Array {
  return randomBytes(BULK_KEY_BYTES)
}
