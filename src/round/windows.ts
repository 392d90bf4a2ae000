// When each candidate of a round is responsible for closing its set, and when it closes: the
// schedule election.md and gossip.md specify, as pure functions of the run's timings.
import type { RoundConfig } from './config.js'

/** [start, end) on the node's clock */
export interface Window { start: number, end: number }

type Timings = Pick<RoundConfig, 'deadlineMs' | 'collectMs' | 'backupStepMs' | 'backups' | 'quorum'>

/** The window in which candidate `rank` of a round started at `startedAt` is responsible; null if it never is. */
export function candidateWindow (cfg: Timings, startedAt: number, rank: number): Window | null {
  if (rank < 0) return null
  const start = rank === 0 ? startedAt : startedAt + cfg.deadlineMs + (rank - 1) * cfg.backupStepMs
  return { start, end: startedAt + cfg.deadlineMs + rank * cfg.backupStepMs }
}

/**
 * A group's candidates work inside the root's patience. The sub-aggregator may close early with
 * a group quorum from collectMs on, and closes with whatever it has at three quarters of its
 * window [0, collectMs + step); each sub-backup then has one step. The root closes with a
 * quorum only once every sub-backup's step is over (rootCollectMs), so a dead sub-aggregator's
 * group is still folded. step splits half of what is left until the root's deadline.
 */
export function groupWindow (cfg: Timings, startedAt: number, rank: number): Window {
  const step = groupStepMs(cfg)
  const first = cfg.collectMs + step
  const start = rank === 0 ? startedAt : startedAt + first + (rank - 1) * step
  return { start, end: startedAt + first + rank * step }
}

function groupStepMs (cfg: Timings): number {
  return (cfg.deadlineMs - cfg.collectMs) / (2 * (cfg.backups + 1))
}

/** When the hierarchical root may close with a quorum of group folds. */
export function rootCollectMs (cfg: Timings): number {
  return cfg.collectMs + (cfg.backups + 1) * groupStepMs(cfg)
}

/** What a responsible candidate sees when it considers closing its set. */
export interface CloseInputs {
  now: number
  startedAt: number
  win: Window
  /** from when a quorum suffices, after the round's start */
  collectMs: number
  /** everyone expected is in */
  allIn: boolean
  usable: number
  expected: number
  /** the fold rule's fewest inputs */
  minInputs: number
}

/**
 * Whether a responsible candidate closes its set now: once everyone expected is in; after
 * `collectMs` with a quorum of `expected` that is also the rule's `minInputs` (as far as
 * `expected` allows); near the end of its window with whatever it has rather than nothing (the
 * fold then falls back). When not, the time to look again.
 */
export function closeDecision (cfg: Timings, x: CloseInputs): { close: true } | { close: false, wakeAt: number } {
  if (x.allIn) return { close: true }
  const quorum = Math.max(1, Math.ceil(cfg.quorum * Math.max(1, x.expected)), Math.min(x.minInputs, x.expected))
  const collectAt = Math.max(x.win.start, x.startedAt + x.collectMs)
  if (x.now >= collectAt && x.usable >= quorum) return { close: true }
  const lastCall = Math.max(collectAt, x.win.end - 0.25 * (x.win.end - x.win.start))
  if (x.now >= lastCall && x.usable >= 1) return { close: true }
  return { close: false, wakeAt: x.now < collectAt ? collectAt : lastCall }
}
