// A per-peer request budget: at most `count` requests in any `windowMs`, so one peer cannot make a
// server re-send its chain (or anything else costly) as fast as it can ask.
export interface RateLimit {
  count: number
  windowMs: number
}

export class PeerRateLimiter {
  private readonly seen = new Map<string, number[]>()

  constructor (private readonly limit: RateLimit, private readonly now: () => number = Date.now, private readonly maxPeers = 10_000) {}

  /** Spends one request of `peer`'s budget; false when it has none left in the window. */
  take (peer: string): boolean {
    const t = this.now()
    const recent = this.seen.get(peer) ?? []
    // times are in arrival order: drop the expired head, amortised O(1) per request
    let expired = 0
    while (expired < recent.length && t - recent[expired] >= this.limit.windowMs) expired++
    if (expired > 0) recent.splice(0, expired)
    if (recent.length >= this.limit.count) { this.seen.set(peer, recent); return false }
    recent.push(t)
    this.seen.delete(peer) // re-inserted last: the map's first key is the least recently active
    this.seen.set(peer, recent)
    if (this.seen.size > this.maxPeers) this.seen.delete(this.seen.keys().next().value as string)
    return true
  }
}
