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
import type { Multiaddr } from '@multiformats/multiaddr'
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
  /** TLS handshake deadline @default 10_000 */
  timeoutMs?: number
  /** a connection with nothing going either way for this long is closed (requesters keep theirs for less) @default 30_000 */
  idleMs?: number
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
    this.opts = { maxTickets: 64, maxTicketsPerPeer: 4, ticketTtlMs: 10_000, maxConnections: 64, timeoutMs: 10_000, idleMs: 30_000, ...opts }
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
    }, sock => { this.serve(sock) })
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

  /**
   * A connection's first range is its handshake's ticket; after it the connection stays open and
   * each further 16 bytes the requester sends name another ticket of the same peer, whose range
   * follows. Anything else (an unknown ticket, another peer's, bytes while a range is going out)
   * closes it. Idle for `idleMs`: closed.
   */
  private serve (sock: TLSSocket): void {
    const first = this.claimed.get(sock)
    if (first == null) { sock.destroy(); return }
    sock.setTimeout(this.opts.idleMs, () => sock.destroy())
    let sending = false
    let asked = Buffer.alloc(0)
    const send = (t: Ticket): void => {
      sending = true
      let off = 0
      const more = (): void => {
        while (off < t.bytes.byteLength) {
          const chunk = t.bytes.subarray(off, off + CHUNK)
          off += chunk.byteLength
          this.stats.bytes += chunk.byteLength
          if (!sock.write(chunk)) { sock.once('drain', more); return }
        }
        this.stats.transfers++
        sending = false
        this.opts.log?.debug({ peer: t.peer, bytes: t.bytes.byteLength }, 'blob range sent over bulk transfer')
      }
      more()
    }
    sock.on('data', (d: Buffer) => {
      asked = Buffer.concat([asked, d])
      if (sending || asked.byteLength > BULK_TICKET_BYTES) { this.stats.refused++; sock.destroy(); return }
      if (asked.byteLength < BULK_TICKET_BYTES) return
      const id = asked.toString('hex')
      asked = Buffer.alloc(0)
      const t = this.tickets.get(id)
      if (t == null || t.peer !== first.peer) { this.stats.refused++; sock.destroy(); return }
      this.tickets.delete(id)
      clearTimeout(t.expires)
      send(t)
    })
    send(first)
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

export interface BulkClientOptions {
  /** an idle connection is closed after this long (below the provider's 30 s, so the requester closes first) @default 20_000 */
  idleMs?: number
  /** idle connections kept per provider address @default 2 */
  maxIdlePerProvider?: number
}

/**
 * The requester's side, with its connections: a range comes over an idle connection to the same
 * provider address when there is one (the requester sends the ticket; no handshake, and TCP's
 * window may still be open), else over a new one keyed with the ticket's PSK. A new connection
 * that fails before its handshake completes is ERR_NET_DIAL_FAILED: the port cannot be reached
 * (firewall, NAT). Any later failure leaves the bytes received so far valid.
 */
export class BulkClient {
  private readonly idle = new Map<string, Set<TLSSocket>>()
  /** each idle connection's listener that drops it (closed, timed out, or sent something) */
  private readonly drops = new WeakMap<TLSSocket, () => void>()
  private readonly opts: Required<BulkClientOptions>
  private closed = false

  constructor (opts: BulkClientOptions = {}) {
    this.opts = { idleMs: 20_000, maxIdlePerProvider: 2, ...opts }
  }

  /** connections kept idle now */
  get idleConnections (): number {
    let n = 0
    for (const s of this.idle.values()) n += s.size
    return n
  }

  async receive (r: BulkReceive): Promise<void> {
    if (isIP(r.ip) === 0) throw new TransferError(NetErrorCode.DIAL_FAILED, r.peer, `bulk transfer needs an IP address, got ${r.ip}`)
    const where = `${r.peer}|${r.ip}|${r.port}`
    const pooled = this.take(where)
    if (pooled != null) {
      let got = false
      try {
        pooled.write(Buffer.from(r.ticket))
        await transfer(pooled, { ...r, onChunk: b => { got = true; r.onChunk(b) } })
        this.keep(where, pooled)
        return
      } catch (err) {
        // the provider closed it while idle (nothing came): a new connection, keyed with this ticket
        if (got || r.signal.aborted) throw err
      }
    }
    const sock = await this.connect(r)
    await transfer(sock, r)
    this.keep(where, sock)
  }

  /** Close every idle connection; later receives open new ones. */
  close (): void {
    this.closed = true
    for (const set of this.idle.values()) for (const s of set) s.destroy()
    this.idle.clear()
  }

  private take (where: string): TLSSocket | undefined {
    const set = this.idle.get(where)
    for (const s of set ?? []) {
      set!.delete(s)
      const drop = this.drops.get(s)
      if (drop != null) { s.off('close', drop); s.off('data', drop); s.off('timeout', drop) }
      s.setTimeout(0)
      if (!s.destroyed) return s
    }
    return undefined
  }

  private keep (where: string, sock: TLSSocket): void {
    let set = this.idle.get(where)
    if (set == null) this.idle.set(where, set = new Set())
    if (this.closed || sock.destroyed || set.size >= this.opts.maxIdlePerProvider) { sock.destroy(); return }
    set.add(sock)
    const drop = (): void => {
      set.delete(sock)
      if (set.size === 0 && this.idle.get(where) === set) this.idle.delete(where)
      sock.destroy()
    }
    this.drops.set(sock, drop)
    sock.setTimeout(this.opts.idleMs)
    sock.once('timeout', drop)
    sock.once('close', drop)
    // nothing may arrive on an idle connection
    sock.once('data', drop)
  }

  private async connect (r: BulkReceive): Promise<TLSSocket> {
    const identity = Buffer.from(r.ticket).toString('hex')
    const key = Buffer.from(r.key)
    return await new Promise<TLSSocket>((resolve, reject) => {
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
      const fail = (message: string): void => {
        off()
        sock.destroy()
        reject(new TransferError(NetErrorCode.DIAL_FAILED, r.peer, `bulk transfer: ${message}`))
      }
      const onError = (err: Error): void => fail(err.message)
      const onClose = (): void => fail('closed during the handshake')
      const onAbort = (): void => fail('aborted')
      const onTimeout = (): void => fail(`no handshake in ${r.timeoutMs} ms`)
      // named listeners, all removed: the connection may live on in the pool for many ranges
      const off = (): void => {
        sock.off('error', onError)
        sock.off('close', onClose)
        sock.off('timeout', onTimeout)
        sock.setTimeout(0)
        r.signal.removeEventListener('abort', onAbort)
      }
      sock.once('error', onError)
      sock.once('close', onClose)
      sock.setTimeout(r.timeoutMs)
      sock.once('timeout', onTimeout)
      r.signal.addEventListener('abort', onAbort)
      sock.once('secureConnect', () => {
        off()
        // the provider must have taken our PSK (no other suite is offered), i.e. it knew the key
        if (sock.getCipher().standardName !== 'TLS_PSK_WITH_AES_256_GCM_SHA384') { sock.destroy(); reject(new TransferError(NetErrorCode.PROTOCOL, r.peer, `bulk transfer: unexpected cipher ${sock.getCipher().standardName}`)); return }
        resolve(sock)
      })
    })
  }
}

/** Read exactly `r.length` bytes of one range from `sock`; the connection stays usable after. */
async function transfer (sock: TLSSocket, r: BulkReceive): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let got = 0
    let settled = false
    const finish = (err?: Error): void => {
      if (settled) return
      settled = true
      sock.off('data', onData)
      sock.off('end', onEnd)
      sock.off('error', onError)
      sock.off('close', onClose)
      sock.off('timeout', onTimeout)
      sock.setTimeout(0)
      r.signal.removeEventListener('abort', onAbort)
      if (err == null) { resolve(); return }
      sock.destroy()
      reject(err)
    }
    const fail = (code: NetErrorCode, message: string): void => finish(new TransferError(code, r.peer, `bulk transfer: ${message}`, {}, { resumable: true }))
    const onData = (d: Buffer): void => {
      if (got + d.byteLength > r.length) { fail(NetErrorCode.PROTOCOL, `provider sent more than ${r.length} bytes`); return }
      got += d.byteLength
      r.onChunk(d)
      if (got === r.length) finish()
    }
    const onEnd = (): void => fail(NetErrorCode.TRUNCATED, `connection ended at ${got} of ${r.length} bytes`)
    const onError = (err: Error): void => fail(NetErrorCode.STREAM_FAILED, err.message)
    // closed without a TLS close (a reset, a kill): short, whatever arrived
    const onClose = (): void => fail(NetErrorCode.TRUNCATED, `connection closed at ${got} of ${r.length} bytes`)
    // a caller that aborts with a TransferError (a rate floor) has that error thrown as it is
    const onAbort = (): void => {
      const why: unknown = r.signal.reason
      if (why instanceof TransferError) finish(why)
      else fail(NetErrorCode.ABORTED, 'aborted')
    }
    sock.on('data', onData)
    sock.once('end', onEnd)
    sock.once('error', onError)
    sock.once('close', onClose)
    const onTimeout = (): void => fail(NetErrorCode.TIMEOUT, `no progress for ${r.timeoutMs} ms`)
    sock.setTimeout(r.timeoutMs)
    sock.once('timeout', onTimeout)
    r.signal.addEventListener('abort', onAbort)
    if (r.length === 0) finish()
  })
}

/** The IP address of `/ip4|ip6/<ip>/<transport>/…` with one of `transports`; undefined for anything else (DNS, relays). */
export function ipOf (ma: Multiaddr, transports: readonly string[]): string | undefined {
  const [ip, carrier] = ma.getComponents()
  return (ip?.name === 'ip4' || ip?.name === 'ip6') && carrier != null && transports.includes(carrier.name) ? ip.value : undefined
}

/** A fresh key for a bulk request. */
export function bulkKey (): Uint8Array {
  return randomBytes(BULK_KEY_BYTES)
}
