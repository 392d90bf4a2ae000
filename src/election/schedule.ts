// Hand-over in time: which elected candidate is responsible for the round at a given moment.
import { ElectionError, ElectionErrorCode } from './errors.js'

export interface HandoverScheduleOptions {
  /** when the round started, in the injected clock's milliseconds */
  readonly roundStart: number
  /** D: how long the elected aggregator has to publish a valid commit */
  readonly deadlineMs: number
  /**
   * S: how long each backup has once the previous candidate's deadline passed.
   * @default deadlineMs
   */
  readonly backupStepMs?: number
  /** [aggregator, backup 1, …, backup k], as `electAggregators` returns them */
  readonly candidates: readonly string[]
}

/** Who owns the round at time t. */
export type Responsibility =
  | { readonly state: 'pending', readonly startsAt: number }
  | { readonly state: 'active', readonly rank: number, readonly peerId: string, readonly since: number, readonly until: number }
  | { readonly state: 'exhausted', readonly since: number }

/**
 * Candidate 0 owns [start, start + D); backup i owns [start + D + (i−1)·S, start + D + i·S).
 * So a failed aggregator costs the round exactly one deadline D, and each further failed
 * backup one step S; after the last backup's window the round has failed ('exhausted').
 *
 * Every node evaluates this against its own clock; it only says whose turn it is, the
 * round state machine decides what a late commit from an earlier candidate means.
 */
export class HandoverSchedule {
  readonly roundStart: number
  readonly deadlineMs: number
  readonly backupStepMs: number
  readonly candidates: readonly string[]

  constructor (options: HandoverScheduleOptions) {
    const { roundStart, deadlineMs, candidates } = options
    const backupStepMs = options.backupStepMs ?? deadlineMs
    if (!Number.isFinite(roundStart)) throw new ElectionError(ElectionErrorCode.BadSchedule, `round start must be a finite time, got ${roundStart}`)
    if (!(Number.isFinite(deadlineMs) && deadlineMs > 0)) throw new ElectionError(ElectionErrorCode.BadSchedule, `deadline must be a finite duration > 0, got ${deadlineMs}`)
    if (!(Number.isFinite(backupStepMs) && backupStepMs > 0)) throw new ElectionError(ElectionErrorCode.BadSchedule, `backup step must be a finite duration > 0, got ${backupStepMs}`)
    if (candidates.length === 0) throw new ElectionError(ElectionErrorCode.NoMembers, 'a schedule needs at least one candidate')
    this.roundStart = roundStart
    this.deadlineMs = deadlineMs
    this.backupStepMs = backupStepMs
    this.candidates = [...candidates]
  }

  /** when candidate `rank` becomes responsible */
  startOf (rank: number): number {
    this.checkRank(rank)
    return rank === 0 ? this.roundStart : this.roundStart + this.deadlineMs + (rank - 1) * this.backupStepMs
  }

  /** the deadline by which candidate `rank` must have published a valid commit */
  deadlineOf (rank: number): number {
    this.checkRank(rank)
    return this.roundStart + this.deadlineMs + rank * this.backupStepMs
  }

  /** when the last backup's window closes and the round is given up */
  get endsAt (): number {
    return this.deadlineOf(this.candidates.length - 1)
  }

  /** the candidate responsible at time t (windows are half-open: a deadline instant belongs to the next one) */
  responsibleAt (t: number): Responsibility {
    if (t < this.roundStart) return { state: 'pending', startsAt: this.roundStart }
    if (t >= this.endsAt) return { state: 'exhausted', since: this.endsAt }
    const first = this.roundStart + this.deadlineMs
    const rank = t < first ? 0 : 1 + Math.floor((t - first) / this.backupStepMs)
    // guard against floating-point edges of the division: the window must contain t
    let r = Math.min(rank, this.candidates.length - 1)
    while (r > 0 && t < this.startOf(r)) r--
    while (r < this.candidates.length - 1 && t >= this.deadlineOf(r)) r++
    return { state: 'active', rank: r, peerId: this.candidates[r], since: this.startOf(r), until: this.deadlineOf(r) }
  }

  private checkRank (rank: number): void {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.candidates.length) {
      throw new ElectionError(ElectionErrorCode.BadInput, `rank ${rank} is outside 0..${this.candidates.length - 1}`)
    }
  }
}

/** Builds a schedule, validating the options (throws ERR_ELECTION_BAD_SCHEDULE). */
export function createHandoverSchedule (options: HandoverScheduleOptions): HandoverSchedule {
  return new HandoverSchedule(options)
}
