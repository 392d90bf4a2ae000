// Peers whose chain this node refused are not asked again for a while: a peer offering a forged or
// diverging chain would otherwise cost a full state download on every presence it sends.
export interface SyncBackoffOptions {
  /** first pause after a refusal @default 30_000 */
  firstMs?: number
  /** longest pause (it doubles per refusal up to this) @default 600_000 */
  maxMs?: number
}

export class SyncBackoff {
  private readonly pauses = new Map<string, { until: number, ms: number }>()
  private readonly firstMs: number
  private readonly maxMs: number

  constructor (private readonly now: () => number, o: SyncBackoffOptions = {}) {
    this.firstMs = o.firstMs ?? 30_000
    this.maxMs = o.maxMs ?? 600_000
  }

  /** `peer`'s offer was refused: pause it, twice as long as last time. Returns the pause in ms. */
  refused (peer: string): number {
    const last = this.pauses.get(peer)
    const ms = last == null ? this.firstMs : Math.min(this.maxMs, last.ms * 2)
    this.pauses.set(peer, { until: this.now() + ms, ms })
    return ms
  }

  /** A sync from `peer` was adopted: it is trusted again at once. */
  adopted (peer: string): void {
    this.pauses.delete(peer)
  }

  /** The peers not paused, in the given order. */
  usable (peers: readonly string[]): string[] {
    const now = this.now()
    return peers.filter(p => (this.pauses.get(p)?.until ?? 0) <= now)
  }
}
