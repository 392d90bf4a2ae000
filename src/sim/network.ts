// Network model over a topology: when a gossip message or a requested blob arrives (virtual
// milliseconds), who is online, per-uplink FIFO queueing, and byte accounting.

import type { Rng } from '../tensor/rng.js'
import { SimError, SimErrorCode } from './errors.js'
import type { PathInfo, Topology } from './topology.js'
import { freshConnection, renoSendingMs, restartAfterIdle, type RenoConnection } from './reno.js'

export interface NetworkOptions {
  /**
   * per-node uplink capacity, MB/s (> 0, Infinity for unlimited); read once per node here,
   * so a bad value fails before the run
   * @default the topology's base link bandwidth
   */
  uplinkMBps?: (node: number) => number
  /**
   * per-node downlink capacity, MB/s; when set, a node's downloads also queue FIFO behind each
   * other (an aggregator pulling many updates at once is then limited by its own link)
   * @default unlimited: downloads are not queued at the receiver
   */
  downlinkMBps?: (node: number) => number
  /**
   * TCP maximum segment size, bytes: sets packets per message and segments per transfer
   * @default 1460
   */
  mss?: number
  /**
   * TCP's initial congestion window, segments, from which every transfer starts (slow start):
   * rounds are seconds apart, longer than a retransmission timeout, so the connection a blob
   * travels on has been idle and restarts from it (RFC 5681 §4.1; Linux's
   * tcp_slow_start_after_idle, on by default). Infinity: transfers start at their full rate.
   * @default 10 (RFC 6928, Linux)
   */
  initialWindow?: number
  /**
   * TCP's minimum retransmission timeout, ms: a lost packet of a message (too few packets behind
   * it for a fast retransmit) is resent after RTT + this, doubling on each further loss
   * (Linux: RTO = SRTT + max(4·RTTVAR, TCP_RTO_MIN))
   * @default 200 (Linux's TCP_RTO_MIN)
   */
  rtoMinMs?: number
  /**
   * size of a blob request, bytes (only its delivery time matters; it is not accounted)
   * @default 100
   */
  requestBytes?: number
  /**
   * retransmission rounds after which a message counts as delivered, so a lossy draw cannot
   * stall the simulated clock without bound
   * @default 8
   */
  maxRetransmits?: number
  /**
   * A pair's messages, requests and blobs share one connection, in order (libp2p: one TCP
   * connection per pair): a message or request waits behind the part of an earlier blob to the
   * same peer still in the sender's socket (head-of-line, about one window), and the
   * connection's window is kept while messages flow (Linux restarts it only after an idle RTO).
   * false: every message departs at once, and every lossless transfer starts at the initial window.
   * @default true
   */
  sharedConnections?: boolean
}

/** Bytes moved so far. Gossip bytes come from accountBroadcast, blob bytes from transferArrival. */
export interface NetworkStats {
  /** every byte that crossed a link: broadcasts × receivers plus transfers */
  bytesTotal: number
  /** per node: its transfers' uploads plus its own broadcasts × receivers (relays are not known here) */
  sentBy: Float64Array
  /** per node: its transfers' downloads */
  receivedBy: Float64Array
  /** messageArrival calls that delivered */
  messages: number
  /** transferArrival calls that started */
  transfers: number
  /** the gossip part of bytesTotal */
  broadcastBytes: number
}

/**
 * Time model, all in virtual milliseconds, MB = 10^6 bytes:
 * - message: one-way latency + bytes / path bottleneck + lost-packet retransmissions, each after
 *   a retransmission timeout (RTT + rtoMinMs, doubling). Gossip is small, so it does not queue
 *   on the uplink; but a pair shares one connection (`sharedConnections`), so a message (or a
 *   blob request) leaves only after the part of an earlier blob to the same peer that waits in
 *   the sender's socket: about one window (Linux's send buffer is twice the window, libp2p's
 *   muxer holds a stream's rest back), so at most one round trip of a window-limited flow and
 *   window / rate of one at the link's rate.
 * - transfer: the request travels to the provider, waits FIFO for the provider's uplink (and
 *   the requester's downlink, if modelled), then streams at min(path bottleneck, uplink,
 *   downlink) after TCP's slow start (the window starts at the connection's: `initialWindow`
 *   segments on a new connection or after an idle RTO, else what the last transfer reached,
 *   since messages in between keep it open; it doubles every round trip until it carries that
 *   rate); the last byte lands one latency later. Over a
 *   lossy path the sending is drawn round trip by round trip instead (reno.ts: random losses,
 *   SACK/RACK repair, tail loss probe or timeout, congestion avoidance), from the window and
 *   threshold the connection between the two kept from its earlier transfers and messages; it
 *   averages to the Mathis rate on long transfers and gives short ones their long tail.
 * The uplink is held for bytes / uplink, not for the whole transfer: a flow slowed by its path,
 * by slow start or by loss leaves uplink capacity for the next one (a fluid approximation of TCP
 * sharing). When the rate is the uplink itself and the window is open — the common case for
 * large blobs — that is exactly FIFO serialisation.
 */
export class NetworkModel {
  readonly stats: NetworkStats
  private readonly n: number
  private readonly online: Uint8Array
  private readonly uplink: Float64Array
  private readonly downlink: Float64Array | undefined
  private readonly upBusy: Float64Array
  private readonly downBusy: Float64Array
  private readonly mss: number
  private readonly initialWindow: number
  private readonly rtoMinMs: number
  private readonly requestBytes: number
  private readonly maxRetransmits: number
  /** the sending side of each ordered pair's connection (key from·n + to), kept between transfers as TCP keeps it */
  private readonly connections = new Map<number, RenoConnection>()
  private readonly shared: boolean
  /**
   * per ordered pair (key from·n + to): when the last byte of the latest blob from → to leaves the
   * sender, and how long the part of it that waits in the sender's socket takes to leave: the
   * kernel buffers about one window beyond what is in flight (Linux sizes the send buffer at twice
   * the window), and libp2p's muxer holds the rest of a stream's data back, so later frames of other
   * streams pass it
   */
  private readonly blobSentUntil = new Map<number, { until: number, socketMs: number }>()

  constructor (readonly topology: Topology, private readonly rng: Rng, opts: NetworkOptions = {}) {
    const n = this.n = topology.n
    this.mss = positive(opts.mss ?? 1460, 'mss', false)
    this.initialWindow = positive(opts.initialWindow ?? 10, 'initialWindow', true)
    this.rtoMinMs = opts.rtoMinMs ?? 200
    if (!(this.rtoMinMs >= 0 && Number.isFinite(this.rtoMinMs))) throw new SimError(SimErrorCode.CONFIG, `rtoMinMs must be a finite number ≥ 0, got ${String(opts.rtoMinMs)}`, { option: 'rtoMinMs' })
    this.requestBytes = nonNegative(opts.requestBytes ?? 100, 'requestBytes')
    this.maxRetransmits = nonNegative(opts.maxRetransmits ?? 8, 'maxRetransmits')
    this.shared = opts.sharedConnections ?? true
    const base = topology.link.bandwidthMBps
    this.uplink = new Float64Array(n)
    for (let i = 0; i < n; i++) this.uplink[i] = positive(opts.uplinkMBps?.(i) ?? base, `uplinkMBps(${i})`, true)
    if (opts.downlinkMBps !== undefined) {
      this.downlink = new Float64Array(n)
      for (let i = 0; i < n; i++) this.downlink[i] = positive(opts.downlinkMBps(i), `downlinkMBps(${i})`, true)
    }
    this.online = new Uint8Array(n).fill(1)
    this.upBusy = new Float64Array(n)
    this.downBusy = new Float64Array(n)
    this.stats = { bytesTotal: 0, sentBy: new Float64Array(n), receivedBy: new Float64Array(n), messages: 0, transfers: 0, broadcastBytes: 0 }
  }

  /** Going offline drops the node's queued uploads and downloads: they die with the connection. */
  setOnline (node: number, online: boolean): void {
    this.check(node)
    this.online[node] = online ? 1 : 0
    if (!online) {
      this.upBusy[node] = 0; this.downBusy[node] = 0
      // its connections close; a new one starts afresh (Linux no longer caches the threshold per host)
      for (let j = 0; j < this.n; j++) {
        for (const key of [node * this.n + j, j * this.n + node]) { this.connections.delete(key); this.blobSentUntil.delete(key) }
      }
    }
  }

  isOnline (node: number): boolean {
    this.check(node)
    return this.online[node] === 1
  }

  /**
   * Arrival time at `to` of a small message sent at `now`, or null when either end is
   * offline. Bytes are not accounted here: a broadcast reaches each receiver by one of many
   * relay paths, so its cost is booked once by accountBroadcast.
   */
  messageArrival (now: number, from: number, to: number, bytes: number): number | null {
    this.check(from); this.check(to); this.checkBytes(bytes)
    if (this.online[from] === 0 || this.online[to] === 0) return null
    this.stats.messages++
    if (from === to) return now
    const p = this.topology.path(to, from) // the sender is the popular endpoint of a broadcast
    const departs = this.departure(now, from, to)
    return departs + p.latencyMs + bytes / (p.bandwidthMBps * 1e3) + this.retransmitDelay(departs, from, to, p, bytes)
  }

  /**
   * Arrival time of the last byte of a `bytes` blob that `to` requests from `from` at `now`,
   * or null when either side is offline at request time (a later departure is the caller's
   * to handle). Both ends' byte counters are charged when the transfer is scheduled.
   */
  transferArrival (now: number, from: number, to: number, bytes: number): number | null {
    this.check(from); this.check(to); this.checkBytes(bytes)
    if (this.online[from] === 0 || this.online[to] === 0) return null
    const s = this.stats
    s.transfers++
    if (from === to) return now
    s.bytesTotal += bytes
    s.sentBy[from] += bytes
    s.receivedBy[to] += bytes
    const p = this.topology.path(from, to)
    const asked = this.departure(now, to, from)
    const requested = asked + p.latencyMs + this.retransmitDelay(asked, to, from, p, this.requestBytes)
    const up = this.uplink[from]
    const down = this.downlink === undefined ? Infinity : this.downlink[to]
    let start = Math.max(requested, this.upBusy[from])
    if (this.downlink !== undefined) start = Math.max(start, this.downBusy[to])
    this.upBusy[from] = start + bytes / (up * 1e3)
    if (this.downlink !== undefined) this.downBusy[to] = start + bytes / (down * 1e3)
    const rate = Math.min(p.bandwidthMBps, up, down)
    if (p.loss > 0 && p.latencyMs > 0 && bytes > 0) {
      const rtoMs = this.rtoMs(p)
      const conn = this.connectionAt(from, to, start, rtoMs)
      const sending = renoSendingMs(Math.ceil(bytes / this.mss), { rttMs: 2 * p.latencyMs, segmentsPerMs: rate * 1e3 / this.mss, loss: p.loss, rtoMs, initialWindow: this.initialWindow }, this.rng, conn)
      conn.lastSentAt = Math.max(conn.lastSentAt, start + sending)
      // a window-limited flow sends one window per round trip
      this.blobSent(from, to, start + sending, 2 * p.latencyMs)
      return start + sending + p.latencyMs
    }
    // lossless: slow start from the connection's window (kept while the pair's messages flow)
    const conn = this.shared && p.latencyMs > 0 ? this.connectionAt(from, to, start, this.rtoMs(p)) : undefined
    const sent = slowStart(bytes, rate, 2 * p.latencyMs, (conn?.cwnd ?? this.initialWindow) * this.mss)
    if (conn !== undefined) {
      conn.cwnd = Math.max(conn.cwnd, Math.floor(sent.windowBytes / this.mss))
      conn.lastSentAt = Math.max(conn.lastSentAt, start + sent.ms)
    }
    this.blobSent(from, to, start + sent.ms, sent.windowBytes / (rate * 1e3))
    return start + sent.ms + p.latencyMs
  }

  /** When a message `from` → `to` handed to their connection at `now` leaves: after the blobs queued on it before. */
  private departure (now: number, from: number, to: number): number {
    if (!this.shared || from === to) return now
    const b = this.blobSentUntil.get(from * this.n + to)
    return b === undefined || b.until <= now ? now : Math.min(b.until, now + b.socketMs)
  }

  private blobSent (from: number, to: number, until: number, socketMs: number): void {
    const key = from * this.n + to
    const b = this.blobSentUntil.get(key)
    if (b === undefined || until >= b.until) this.blobSentUntil.set(key, { until, socketMs })
  }

  /** Book a gossip broadcast of `bytes` from `from` that reached `receivers` nodes, each edge carrying it once. */
  accountBroadcast (from: number, bytes: number, receivers: number): void {
    this.check(from); this.checkBytes(bytes)
    if (!(Number.isInteger(receivers) && receivers >= 0)) throw new SimError(SimErrorCode.CONFIG, `receivers must be an integer ≥ 0, got ${String(receivers)}`)
    const total = bytes * receivers
    this.stats.bytesTotal += total
    this.stats.broadcastBytes += total
    this.stats.sentBy[from] += total
  }

  /**
   * Extra delay from lost packets of a message `from` sends `to` at `now`. With k packets each lost
   * with probability q per round, the rounds needed beyond the first, X, satisfy
   * P(X ≤ x) = (1 − q^(x+1))^k; X is drawn by inversion from one uniform. A message is a few
   * packets, too few behind a lost one for a fast retransmit, so each round waits out a
   * retransmission timeout, RTT + rtoMinMs at first and doubled after each (exponential backoff):
   * X rounds cost RTO·(2^X − 1). The timeout also costs the connection its window (half of it
   * becomes the threshold, the window restarts from one segment and the acknowledged resend lets it
   * grow to two), so the next blob on it starts slow: the round's small messages and its
   * transfers share a connection. Lossless paths draw nothing, so adding loss elsewhere does not
   * shift their randomness.
   */
  private retransmitDelay (now: number, from: number, to: number, p: PathInfo, bytes: number): number {
    if (p.loss <= 0) {
      // a message keeps its connection busy: its window is not restarted by the next blob
      if (this.shared && from !== to && p.latencyMs > 0) {
        const conn = this.connectionAt(from, to, now, this.rtoMs(p))
        conn.lastSentAt = Math.max(conn.lastSentAt, now)
      }
      return 0
    }
    const k = Math.max(1, Math.ceil(bytes / this.mss))
    const u = this.rng.next()
    let x = 0
    while (x < this.maxRetransmits && Math.exp(k * Math.log1p(-Math.pow(p.loss, x + 1))) < u) x++
    const rtoMs = this.rtoMs(p)
    const delay = rtoMs * (2 ** x - 1)
    if (from !== to && p.latencyMs > 0) {
      const conn = this.connectionAt(from, to, now, rtoMs)
      if (x > 0) {
        conn.ssthresh = Math.max(2, Math.floor(conn.cwnd / 2))
        conn.cwnd = Math.min(2, conn.ssthresh)
      }
      conn.lastSentAt = Math.max(conn.lastSentAt, now + delay)
    }
    return delay
  }

  /** the sending side of the connection `from` → `to` as it stands when it sends at `now`: restarted if it sat idle */
  private connectionAt (from: number, to: number, now: number, rtoMs: number): RenoConnection {
    const key = from * this.n + to
    let conn = this.connections.get(key)
    if (conn === undefined) this.connections.set(key, conn = freshConnection(this.initialWindow))
    restartAfterIdle(conn, now, rtoMs, this.initialWindow)
    return conn
  }

  /** the first retransmission timeout on path `p`, ms: RTT + rtoMinMs */
  rtoMs (p: PathInfo): number {
    return 2 * p.latencyMs + this.rtoMinMs
  }

  private check (node: number): void {
    if (!(Number.isInteger(node) && node >= 0 && node < this.n)) {
      throw new SimError(SimErrorCode.NODE_RANGE, `node ${String(node)} is not in [0, ${this.n})`, { node: Number(node), n: this.n })
    }
  }

  private checkBytes (bytes: number): void {
    if (!(Number.isFinite(bytes) && bytes >= 0)) throw new SimError(SimErrorCode.CONFIG, `bytes must be a finite number ≥ 0, got ${String(bytes)}`)
  }
}

/**
 * Time, ms, for a TCP sender to put `bytes` on the wire at up to `rateMBps` when its window starts
 * at `initialBytes` and doubles every round trip (slow start) until it covers the bandwidth-delay
 * product: each round trip of slow start sends one window and waits for its acknowledgements,
 * then the rest streams at the rate. With a window already that large, or no round trip, it is
 * bytes / rate.
 */
export function sendingMs (bytes: number, rateMBps: number, rttMs: number, initialBytes: number): number {
  return slowStart(bytes, rateMBps, rttMs, initialBytes).ms
}

/** sendingMs, and the window (bytes) the transfer ends with */
export function slowStart (bytes: number, rateMBps: number, rttMs: number, initialBytes: number): { ms: number, windowBytes: number } {
  const perMs = rateMBps * 1e3
  const bdp = perMs * rttMs
  let window = initialBytes
  let sent = 0
  let ms = 0
  // at most log2(bdp / initialBytes) rounds: the window doubles each time
  while (window < bdp && sent + window < bytes) {
    sent += window
    ms += rttMs
    window *= 2
  }
  return { ms: ms + (bytes - sent) / perMs, windowBytes: window }
}

function positive (x: number, what: string, allowInfinity: boolean): number {
  if (typeof x !== 'number' || !(x > 0) || (!allowInfinity && !Number.isFinite(x))) {
    throw new SimError(SimErrorCode.CONFIG, `${what} must be a ${allowInfinity ? '' : 'finite '}number > 0, got ${String(x)}`, { option: what })
  }
  return x
}

function nonNegative (x: number, what: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) {
    throw new SimError(SimErrorCode.CONFIG, `${what} must be an integer ≥ 0, got ${String(x)}`, { option: what })
  }
  return x
}
