// Gossip mode: fetch the next round's updates as soon as they are announced, before this node has
// applied the commit that starts that round. Why: a member still fetching round r − 1's updates
// (one slow transfer over a lossy link) used to hold round r's announces, and so their fetches,
// until it applied commit r − 1; a late member then stayed late, and as the next aggregator it
// closed late too (links bench: docs/researchers.md). Updates are content-addressed, so bytes
// fetched early are checked against their id on arrival and against their announce (author,
// round, base model) when the round starts, exactly as those fetched in the round.
// Bounded: the next round only, one update per member (the first announce wins), so a member
// cannot make others fetch more than it could within a round; and at most EARLY_BYTES announced
// at once, so a member holding one round's updates does not hold a second round's as well when
// updates are large (the rest is fetched in its round, as before).

/** Announced bytes fetched ahead at most (a size claimed too small is still capped per blob by the transport). */
export const EARLY_BYTES = 512 * 1024 * 1024

/** Early fetches for one round: an update id → its bytes, or null while its fetch runs. */
export class NextRoundPrefetch {
  private round = -1
  private readonly peers = new Set<string>()
  private readonly blobs = new Map<string, Uint8Array | null>()
  private bytes = 0

  /** Whether to start fetching `id` (`size` bytes announced by `peer` for `round`): false when that peer or id already has one, or the budget is spent. */
  begin (round: number, peer: string, id: string, size: number): boolean {
    if (round !== this.round) this.reset(round)
    if (this.peers.has(peer) || this.blobs.has(id) || this.bytes + size > EARLY_BYTES) return false
    this.peers.add(peer)
    this.blobs.set(id, null)
    this.bytes += size
    return true
  }

  /** Whether `id` is an early fetch still running (its arrival or failure belongs here). */
  awaits (id: string): boolean {
    return this.blobs.get(id) === null
  }

  /** The early fetch of `id` brought `bytes` (already checked against the id). */
  arrived (id: string, bytes: Uint8Array): void {
    if (this.blobs.get(id) === null) this.blobs.set(id, bytes)
  }

  /** The early fetch of `id` failed: the round fetches it again once it starts. */
  failed (id: string): void {
    this.blobs.delete(id)
  }

  /** What was fetched, or is in flight, for `round`; forgets everything (other rounds' fetches are dropped). */
  take (round: number): Map<string, Uint8Array | null> {
    const got = round === this.round ? new Map(this.blobs) : new Map<string, Uint8Array | null>()
    this.reset(-1)
    return got
  }

  private reset (round: number): void {
    this.round = round
    this.peers.clear()
    this.blobs.clear()
    this.bytes = 0
  }
}
