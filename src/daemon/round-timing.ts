// When each step of a round happened on this node, gathered from the driver's typed events and
// the gossip this node received; moved into the round's history record once it is persisted.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { DriverEvent } from '../round/index.js'
import type { FetchTiming, RoundTiming } from './control-types.js'

const LOOP_DELAY_RESOLUTION_MS = 10
/** rounds further behind than this are dropped (bounded memory) */
const KEEP_ROUNDS = 4

export class RoundTimer {
  private readonly timings = new Map<number, RoundTiming>()
  private readonly loopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined

  constructor (opts: { loopDelay?: boolean } = {}) {
    if (opts.loopDelay !== false) {
      this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
      this.loopDelay.enable()
    }
  }

  /** Timing record of `round`, created on first use. */
  of (round: number): RoundTiming {
    let t = this.timings.get(round)
    if (t == null) {
      t = { fetches: [], fetchedBytes: 0, fetchMs: 0 }
      this.timings.set(round, t)
      for (const r of this.timings.keys()) if (r < round - KEEP_ROUNDS) this.timings.delete(r)
    }
    return t
  }

  /** A driver event: the milestones it marks. */
  onDriverEvent (e: DriverEvent): void {
    switch (e.type) {
      case 'roundStarted': this.of(e.round).startedAt = e.at; break
      case 'trained': this.of(e.round).encodeMs = e.encodeMs; break
      case 'announced': this.of(e.round).announcedAt = e.at; break
      case 'setClosed': this.of(e.round).closedAt = e.at; break
      case 'committed': this.of(e.round).commitPublishedAt = e.at; break
      case 'commitPulled': this.commitReceived(e.round, e.at); break
      case 'applied': {
        const t = this.of(e.commit.round)
        t.computeMs = e.computeMs
        t.appliedAt = e.at
        break
      }
      case 'fetched': {
        const t = this.of(e.round)
        const f: FetchTiming = { kind: e.kind, bytes: e.bytes, startAt: e.startAt, doneAt: e.at, ok: e.ok }
        t.fetches.push(f)
        t.fetchedBytes += e.bytes
        t.fetchMs += f.doneAt - f.startAt
      }
    }
  }

  trainStarted (round: number, at: number): void { this.of(round).trainStartAt = at }
  trainDone (round: number, at: number): void { this.of(round).trainedAt = at }

  announceReceived (round: number, at: number): void {
    const t = this.of(round)
    t.firstAnnounceAt ??= at
    t.lastAnnounceAt = at
  }

  /** The first copy of a commit of `round` reached this node (gossip or pull); copies after it applied do not count. */
  commitReceived (round: number, at: number): void {
    const t = this.of(round)
    if (t.appliedAt == null) t.commitReceivedAt ??= at
  }

  /** The round is persisted: its record, with the event-loop delay since the previous one. */
  close (round: number, persistedAt: number): RoundTiming {
    const t = this.of(round)
    t.persistedAt = persistedAt
    const ld = this.loopDelay
    const excess = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS)
    if (ld != null && ld.count > 0) t.loopDelay = { p50Ms: excess(ld.percentile(50)), p99Ms: excess(ld.percentile(99)), maxMs: excess(ld.max) }
    ld?.reset()
    this.timings.delete(round)
    return t
  }

  stop (): void { this.loopDelay?.disable() }
}
