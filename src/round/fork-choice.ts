// Fork choice: when two signed chains from one common ancestor diverge, every node picks the same
// one — the branch whose first commit folded more of that round's electorate, unless one branch
// ran on for more than FORK_SETTLE_ROUNDS rounds past the fork: then the longer (protocols/sync.md §7).
import { compareUtf8 } from './fold.js'
import type { Commit } from './messages.js'
import type { Member } from './types.js'

/** Where two chains part: the first round at which their commits differ. */
export interface ForkPoint {
  /** the first round whose commits differ */
  round: number
  /** the model both chains hold before that round (the commits' common prevModelId) */
  baseModelId: string
}

/**
 * The first round at which `mine` and `theirs` (each sorted by round, one commit per round) hold
 * different commits, where both extend the same model; null when they agree on every round both
 * hold, or part before the rounds both hold (no common ancestor in view).
 */
export function findFork (mine: readonly Commit[], theirs: readonly Commit[]): ForkPoint | null {
  const byRound = new Map(mine.map(c => [c.round, c]))
  for (const t of theirs) {
    const m = byRound.get(t.round)
    if (m == null) continue
    if (m.newModelId === t.newModelId && m.aggregator === t.aggregator) continue
    return m.prevModelId === t.prevModelId ? { round: t.round, baseModelId: t.prevModelId } : null
  }
  return null
}

/** How many of the fork round's electorate a branch's first commit folded. */
export function branchWeight (first: Commit, electorate: readonly Member[]): number {
  const members = new Set(electorate.map(m => m.peerId))
  let n = 0
  for (const u of first.included) if (members.has(u.peerId)) n++
  return n
}

/**
 * A branch that ran on for more rounds than this past the fork is settled by length: the run moved
 * on with it. Without this a node alone on a heavier branch nobody else saw (it committed, then
 * died before its commit was gossiped) would keep it forever, and a heavier commit held back and
 * shown rounds later would roll the whole run back to it.
 */
export const FORK_SETTLE_ROUNDS = 8

/**
 * True when the branch starting with `theirs` wins over the one starting with `mine` (both commits
 * of the fork round, extending the same model). With `lengths` (each branch's commits from the
 * fork round on, as this node holds them) and either above FORK_SETTLE_ROUNDS: the longer branch.
 * Otherwise, or at equal lengths: more of the round's electorate folded, then the lower rank (the
 * aggregator before its backups), then the smaller new model id (UTF-8 bytes).
 */
export function prefersTheirs (mine: Commit, theirs: Commit, electorate: readonly Member[], lengths?: { mine: number, theirs: number }): boolean {
  if (lengths != null && lengths.mine !== lengths.theirs && Math.max(lengths.mine, lengths.theirs) > FORK_SETTLE_ROUNDS) return lengths.theirs > lengths.mine
  const a = branchWeight(mine, electorate)
  const b = branchWeight(theirs, electorate)
  if (a !== b) return b > a
  if (mine.rank !== theirs.rank) return theirs.rank < mine.rank
  return compareUtf8(theirs.newModelId, mine.newModelId) < 0
}
