// Fork choice: when two signed chains from one common ancestor diverge, every node picks the same
// one — within FORK_SETTLE_ROUNDS rounds of the fork the branch whose first commit folded more of
// that round's electorate; past it the branch more of the electorate built on (as their own signed
// announces, carried in the commits, show), then the longer (protocols/sync.md §7).
import { compareUtf8 } from './fold.js'
import type { Commit, IncludedUpdate } from './messages.js'
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
 * Whether the update `u` that commit `c` includes carries its author's own signature of its
 * announce on `c`'s base model (RoundDeps.announceProven). A forger can list anyone in its commits,
 * but cannot sign for them on models it made up.
 */
export type AnnounceProven = (c: Commit, u: IncludedUpdate) => boolean

/** Failed proofs tried per peer and branch before it counts as not having built it: bounds the checks a liar costs. */
const MAX_FAILED_PROOFS = 3

/**
 * How many of the fork round's electorate built on a branch after its first commit: peers of
 * `electorate` that any of its commits of later rounds includes, with a proof that holds where
 * `proven` is given (absent: where nothing is signed, what commits list counts). A branch nobody
 * extended (a commit held back, or one its author never got out) counts 0, and so do members a
 * forger lists on models they never saw.
 */
export function branchBuilders (branch: readonly Commit[], electorate: readonly Member[], proven?: AnnounceProven): number {
  if (branch.length === 0) return 0
  const members = new Set(electorate.map(m => m.peerId))
  const first = branch[0].round
  const built = new Set<string>()
  const failed = new Map<string, number>()
  for (const c of branch) {
    if (c.round <= first) continue
    for (const u of c.included) {
      if (!members.has(u.peerId) || built.has(u.peerId)) continue
      if (proven == null) { built.add(u.peerId); continue }
      const tries = failed.get(u.peerId) ?? 0
      if (tries >= MAX_FAILED_PROOFS) continue
      if (proven(c, u)) built.add(u.peerId)
      else failed.set(u.peerId, tries + 1)
    }
  }
  return built.size
}

/**
 * A fork whose branches ran on for more rounds than this is settled by who built them, then by
 * length: the run moved on with one. Shorter forks (a backup's commit beside the aggregator's, a
 * censored commit beside an honest one) are settled by what their first commits folded.
 */
export const FORK_SETTLE_ROUNDS = 8

/** Which rule of protocols/sync.md §7 settled a fork, with what each branch had under it. */
export interface ForkDecision {
  /** the other branch wins */
  theirs: boolean
  rule: 'builders' | 'length' | 'first commit' | 'rank' | 'model id'
  /** the measure under that rule on this node's branch and on the other (rank: lower wins; model id: 0) */
  values: { mine: number, theirs: number }
}

/**
 * Which of two branches wins: each the commits from the fork round on as this node holds them
 * (sorted by round, both starting with a commit of the fork round, extending the same model). If
 * either is longer than FORK_SETTLE_ROUNDS: the one more of the fork round's electorate built on
 * after the fork (branchBuilders, by their announce proofs where `proven` checks them), so a lone node or a minority that ran on fast by itself during
 * a partition does not roll back the members that went on without it; then the longer. Otherwise,
 * or where those tie: the first commit that folded more of the electorate, then the lower rank
 * (the aggregator before its backups), then the smaller new model id (UTF-8).
 */
export function decideFork (mine: readonly Commit[], theirs: readonly Commit[], electorate: readonly Member[], proven?: AnnounceProven): ForkDecision {
  if (Math.max(mine.length, theirs.length) > FORK_SETTLE_ROUNDS) {
    const built = { mine: branchBuilders(mine, electorate, proven), theirs: branchBuilders(theirs, electorate, proven) }
    if (built.mine !== built.theirs) return { theirs: built.theirs > built.mine, rule: 'builders', values: built }
    const length = { mine: mine.length, theirs: theirs.length }
    if (length.mine !== length.theirs) return { theirs: length.theirs > length.mine, rule: 'length', values: length }
  }
  const weight = { mine: branchWeight(mine[0], electorate), theirs: branchWeight(theirs[0], electorate) }
  if (weight.mine !== weight.theirs) return { theirs: weight.theirs > weight.mine, rule: 'first commit', values: weight }
  const rank = { mine: mine[0].rank, theirs: theirs[0].rank }
  if (rank.mine !== rank.theirs) return { theirs: rank.theirs < rank.mine, rule: 'rank', values: rank }
  return { theirs: compareUtf8(theirs[0].newModelId, mine[0].newModelId) < 0, rule: 'model id', values: { mine: 0, theirs: 0 } }
}

/** True when the branch `theirs` wins over `mine` (decideFork). */
export function prefersTheirs (mine: readonly Commit[], theirs: readonly Commit[], electorate: readonly Member[]): boolean {
  return decideFork(mine, theirs, electorate).theirs
}
