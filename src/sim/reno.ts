// A TCP transfer over a lossy path, one round trip at a time (the way Cardwell, Savage and
// Anderson 2000 model short transfers), with the loss recovery Linux uses by default: the window
// starts at the connection's window and doubles each round trip (slow start) up to the threshold,
// then grows by one segment (congestion avoidance); every segment is lost with the path's
// probability. A loss with any segment sent after it is repaired a round trip on (SACK and RACK:
// threshold and window halved); the transfer's last segment lost is resent by the tail loss probe
// two round trips after it left; only a lone segment (or a lost probe) waits out a retransmission
// timeout (RTO, doubling while timeouts follow each other; the window back to one segment). The
// window and threshold are the connection's: kept between transfers, restarted after idle as
// Linux does, so a connection that lost segments starts its next transfer in congestion avoidance.
// Why: a transfer of a few hundred segments never reaches the Mathis steady state, and over a
// lossy path most of its time is the slow climb from a small window (measured against kernel TCP
// over namespace links: docs/researchers.md).
import type { Rng } from '../tensor/rng.js'

export interface RenoPath {
  /** round-trip time, ms (> 0) */
  rttMs: number
  /** the rate the path carries, segments per ms (> 0, may be Infinity) */
  segmentsPerMs: number
  /** probability that a segment is lost, in (0, 1) */
  loss: number
  /** the first retransmission timeout, ms */
  rtoMs: number
  /** initial window, segments */
  initialWindow: number
}

/**
 * What a TCP sender remembers between transfers on one connection: its window and slow-start
 * threshold, and when it last sent. Losses lower the threshold for good, so a connection that
 * lost segments restarts every later transfer in congestion avoidance (one segment more per round
 * trip) instead of slow start, which is most of the time a lossy transfer takes (measured over
 * namespace links: docs/researchers.md).
 */
export interface RenoConnection {
  /** congestion window, segments */
  cwnd: number
  /** slow-start threshold, segments (Infinity until the first loss) */
  ssthresh: number
  /** virtual ms at which the last transfer's last segment left */
  lastSentAt: number
}

/** A connection that has not sent yet: Linux starts it at the initial window, threshold unbounded. */
export function freshConnection (initialWindow: number): RenoConnection {
  return { cwnd: Math.max(1, initialWindow), ssthresh: Infinity, lastSentAt: -Infinity }
}

/**
 * The window after the connection sat idle since its last transfer (RFC 2861 as Linux does it,
 * tcp_cwnd_restart): idle longer than an RTO, the threshold keeps at least 3/4 of the window,
 * and the window halves per RTO idle, down to min(initial window, window).
 */
export function restartAfterIdle (conn: RenoConnection, now: number, rtoMs: number, initialWindow: number): void {
  let idle = now - conn.lastSentAt
  if (!(idle > rtoMs)) return
  conn.ssthresh = Math.max(conn.ssthresh, 0.75 * conn.cwnd)
  const restart = Math.min(Math.max(1, initialWindow), conn.cwnd)
  let cwnd = conn.cwnd
  while ((idle -= rtoMs) > 0 && cwnd > restart) cwnd /= 2
  conn.cwnd = Math.max(Math.floor(cwnd), restart)
}

/** round trips simulated one by one; a longer transfer is in its steady state by then, and the rest goes at Mathis's rate */
export const RENO_MAX_ROUNDS = 256
/** a timeout doubles at most this many times in a row (Linux backs off further, but a path this bad is gone) */
const MAX_BACKOFF = 6

/**
 * Time, ms, from the first segment of `segments` leaving to the last one leaving (the caller adds
 * the last byte's one-way latency), drawn from `rng`: one uniform per round trip. With `conn`, the
 * transfer starts from that connection's window and threshold (restartAfterIdle first, if it was
 * idle) and leaves them there for the next; without, from a fresh connection's.
 */
export function renoSendingMs (segments: number, path: RenoPath, rng: Rng, conn?: RenoConnection): number {
  const { rttMs, segmentsPerMs, loss, rtoMs } = path
  // segments the path carries per round trip (a fraction too: the rate, not a window): a window
  // above it queues instead of going faster
  const pipe = Math.max(1, segmentsPerMs * rttMs)
  const start = conn ?? freshConnection(path.initialWindow)
  let cwnd = Math.max(1, start.cwnd)
  let ssthresh = start.ssthresh
  let left = Math.max(0, Math.ceil(segments))
  let ms = 0
  let backoff = 0
  let probed = false
  const done = (): number => {
    if (conn != null) { conn.cwnd = cwnd; conn.ssthresh = ssthresh }
    return ms
  }
  for (let round = 0; left > 0; round++) {
    if (round >= RENO_MAX_ROUNDS) {
      ms += left / Math.min(segmentsPerMs, mathisSegmentsPerMs(rttMs, loss))
      return done()
    }
    const w = Math.max(1, Math.min(Math.floor(cwnd), pipe, left))
    const first = firstLoss(loss, rng)
    if (first >= w) {
      left -= w
      // a window takes a round trip to be acknowledged; the last one only has to leave
      ms += left === 0 ? w / segmentsPerMs : Math.max(rttMs, w / segmentsPerMs)
      cwnd = cwnd < ssthresh ? Math.min(2 * cwnd, Math.max(ssthresh, cwnd + 1)) : cwnd + 1
      backoff = 0
      continue
    }
    // the others arrive (selective acknowledgements); the lost one is sent again with what follows,
    // and the window halves (Reno: the threshold is half the window)
    left -= w - 1
    ssthresh = Math.max(2, Math.floor(cwnd / 2))
    // segments sent after the lost one: the rest of this window, and (once earlier ones were
    // acknowledged and the window slid) the rest of the transfer
    const behind = (w - first - 1) + (w > 1 ? left - 1 : 0)
    if (behind >= 1) {
      // a later segment acknowledged marks it lost (RACK, Linux's default): resent a round trip on
      cwnd = ssthresh
      ms += Math.max(rttMs, w / segmentsPerMs)
      backoff = 0
    } else if (w > 1 && !probed) {
      // the transfer's last segment, nothing behind it: the tail loss probe resends it two round
      // trips after it left (Linux's TLP), and the window is reduced as for a fast retransmit
      cwnd = ssthresh
      ms += w / segmentsPerMs + 2 * rttMs
      probed = true
    } else {
      // nothing acknowledged to clock a repair (a lone segment, or the probe lost too): the
      // retransmission timeout, doubling while they follow each other, from a window of one
      ms += rtoMs * 2 ** backoff
      backoff = Math.min(backoff + 1, MAX_BACKOFF)
      cwnd = 1
    }
  }
  return done()
}

/**
 * Mathis, Semke, Mahdavi, Ott (1997): the steady-state rate of a Reno flow whose losses are all
 * repaired without a timeout, segments per ms: √(3/2) / (RTT·√p). With SACK, RACK and tail loss
 * probes (Linux's defaults) timeouts are rare, and the round-by-round draw averages close to it.
 */
export function mathisSegmentsPerMs (rttMs: number, loss: number): number {
  return Math.sqrt(1.5) / (rttMs * Math.sqrt(loss))
}

/** Index of the first lost segment of a window (geometric), drawn from one uniform; may exceed any window. */
function firstLoss (loss: number, rng: Rng): number {
  const u = rng.next()
  return Math.floor(Math.log1p(-u) / Math.log1p(-loss))
}
