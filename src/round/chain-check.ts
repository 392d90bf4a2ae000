// Replaying a commit chain from a known head without the models: what a node that syncs from a
// peer checks before it adopts that peer's state, so a peer cannot feed it a chain of its own making.
import { rankMembers } from '../election/index.js'
import { groupOf, roundGroups } from './groups.js'
import { bannedAfter, commitMembers, validateCommitGroups, validateCommitShape } from './validate.js'
import type { RoundConfig } from './config.js'
import type { Commit } from './messages.js'
import type { Member, RoundDeps } from './types.js'
import { RefusalCode, type Refusal } from './validate.js'

/** The part of a chain state that commits alone determine: enough to elect the next round. */
export interface ChainHead {
  /** the round the next commit must be for */
  round: number
  /** the model the next commit must extend */
  modelId: string
  /** who may be elected for that round */
  electorate: Member[]
  /** members proven to have equivocated (ChainState.banned) */
  banned?: string[]
}

export type ChainCheck =
  | { ok: true, head: ChainHead }
  | { ok: false, round: number, refusal: Refusal }

/**
 * Walk `commits` forward from `head`, as the engine would have applied them: each must be for the
 * next round, extend the model the previous one produced, and come from a candidate the election
 * of that round ranks, with a well-formed update list (and, in hierarchical mode, group folds from
 * each group's own candidates). The electorate of each round is the previous commit's included
 * peers. What it cannot check without the updates is that the new model is their fold: that is
 * what the candidates of each round verified, and what an honest majority of them signed for.
 */
export function checkChain (head: ChainHead, commits: readonly Commit[], cfg: RoundConfig, rank: NonNullable<RoundDeps['rank']> = electionRank, limits?: RoundDeps['limits']): ChainCheck {
  let h = head
  for (const c of commits) {
    const fail = (code: RefusalCode, reason: string): ChainCheck => ({ ok: false, round: c.round, refusal: { severity: 'reject', code, reason } })
    if (c.round !== h.round) return fail(RefusalCode.WrongRound, `commit for round ${c.round} where round ${h.round} was due`)
    if (c.prevModelId !== h.modelId) return fail(RefusalCode.OtherModel, `commit of round ${c.round} extends ${c.prevModelId}, not ${h.modelId}`)
    if (h.electorate.length === 0) return fail(RefusalCode.NoElectorate, `round ${c.round} has no electorate, so no commit can be legitimate`)
    const candidates = rank(cfg.runId, h.round, h.modelId, h.electorate)
    let refusal = validateCommitShape(c, h.modelId, candidates, cfg, limits, h.banned)
    if (refusal == null && cfg.mode === 'hierarchical') {
      const seed = { runId: cfg.runId, round: h.round, prevModelId: h.modelId }
      const plan = roundGroups(rank, cfg.runId, h.round, h.modelId, h.electorate, cfg.groupSize)
      refusal = validateCommitGroups(c, plan, p => groupOf(plan, seed, p), cfg.backups)
    }
    if (refusal != null) return { ok: false, round: c.round, refusal: { ...refusal, severity: 'reject' } }
    const banned = bannedAfter(h.banned, c)
    h = { round: c.round + 1, modelId: c.newModelId, electorate: commitMembers(c).members }
    if (banned != null && banned.length > 0) h.banned = banned
  }
  return { ok: true, head: h }
}

/** The election's ranking of a round's electorate: the default `RoundDeps.rank`. */
export function electionRank (runId: string, round: number, prevModelId: string, members: Member[]): string[] {
  return rankMembers({ runId, round, prevModelId }, members).map(r => r.peerId)
}
