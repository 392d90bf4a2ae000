// Timers on the wall clock that never run early. Node's setTimeout counts on a monotonic clock, so
// a timer can fire a millisecond before Date.now() reaches its deadline. The round engine asks for
// each wake time once: a tick that came early reads as "not yet" and no other comes, and a backup
// whose aggregator had died never closed its round (test/e2e/min-members.test.ts, 1 run in 5–15).
export class WallTimers {
  private readonly timers = new Set<NodeJS.Timeout>()
  private closed = false

  constructor (private readonly now: () => number = Date.now) {}

  /** Run `fn` once `now()` has reached `at` (at once if it has), unless closed before. */
  at (at: number, fn: () => void): void {
    if (this.closed) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      if (this.closed) return
      if (this.now() < at) { this.at(at, fn); return }
      fn()
    }, Math.max(0, at - this.now()))
    this.timers.add(t)
  }

  /** Cancel every pending timer; later `at` calls do nothing. */
  close (): void {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}
