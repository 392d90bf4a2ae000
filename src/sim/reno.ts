// A TCP transfer over a lossy path, one round trip at a time (the way Cardwell, Savage and
// Anderson 2000 model short transfers): the window starts at the initial window and doubles each
// round trip (slow start) up to the threshold, then grows by one segment (congestion avoidance);
// every segment is lost with the path's probability. The first loss of a window with three or more
// segments behind it is repaired by fast retransmit (threshold and window halved), one with fewer
// behind it ends in a retransmission timeout (RTO, doubling while timeouts follow each other; the
// window back to one segment). Why: a transfer of a few hundred segments never reaches the Mathis
// steady state; an early loss leaves it crawling at a small window, which gives lossy transfers
// the long tail measured over namespace links (docs/researchers.md).
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

/** round trips simulated one by one; a longer transfer is in its steady state by then, and the rest goes at Padhye's rate */
export const RENO_MAX_ROUNDS = 256
/** a timeout doubles at most this many times in a row (Linux backs off further, but a path this bad is gone) */
const MAX_BACKOFF = 6

/**
 * Time, ms, from the first segment of `segments` leaving to the last one leaving (the caller adds
 * the last byte's one-way latency), drawn from `rng`: one uniform per round trip.
 */
export function renoSendingMs (segments: number, path: RenoPath, rng: Rng): number {
  const { rttMs, segmentsPerMs, loss, rtoMs } = path
  // segments the path carries per round trip (a fraction too: the rate, not a window): a window
  // above it queues instead of going faster
  const pipe = Math.max(1, segmentsPerMs * rttMs)
  let cwnd = Math.max(1, path.initialWindow)
  let ssthresh = Infinity
  let left = Math.max(0, Math.ceil(segments))
  let ms = 0
  let backoff = 0
  for (let round = 0; left > 0; round++) {
    if (round >= RENO_MAX_ROUNDS) return ms + left / Math.min(segmentsPerMs, padhyeSegmentsPerMs(rttMs, loss, rtoMs))
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
    // the others arrive (selective acknowledgements); the lost one is sent again with what follows
    left -= w - 1
    ssthresh = Math.max(2, w / 2)
    if (w - first - 1 >= 3) {
      cwnd = ssthresh
      ms += Math.max(rttMs, w / segmentsPerMs)
      backoff = 0
    } else {
      ms += rtoMs * 2 ** backoff
      backoff = Math.min(backoff + 1, MAX_BACKOFF)
      cwnd = 1
    }
  }
  return ms
}

/**
 * Padhye, Firoiu, Towsley, Kurose (1998): the steady-state rate of a Reno flow whose losses are
 * repaired by fast retransmit or by timeouts, segments per ms (one ACK per segment):
 * 1 / (RTT·√(2p/3) + RTO·min(1, 3·√(3p/8))·p·(1 + 32p²)). Without timeouts it is the Mathis bound.
 */
export function padhyeSegmentsPerMs (rttMs: number, loss: number, rtoMs: number): number {
  return 1 / (rttMs * Math.sqrt(2 * loss / 3) + rtoMs * Math.min(1, 3 * Math.sqrt(3 * loss / 8)) * loss * (1 + 32 * loss * loss))
}

/** Index of the first lost segment of a window (geometric), drawn from one uniform; may exceed any window. */
function firstLoss (loss: number, rng: Rng): number {
  const u = rng.next()
  return Math.floor(Math.log1p(-u) / Math.log1p(-loss))
}
