// Adopting a peer's state: the one pure check the daemon and the simulator both run before a node
// that fell behind (or joined late) jumps to a state it did not compute itself.
import { checkChain, electionRank } from './chain-check.js'
import { modelBytes } from './fold.js'
import type { RoundConfig } from './config.js'
import type { ChainCommit, SyncOffer } from './transport.js'
import type { ChainState, Member, RoundDeps } from './types.js'
import { RefusalCode, type Refusal } from './validate.js'

export type SyncCheck =
  | { ok: true, state: ChainState, adopted: ChainCommit[] }
  /** `severity: 'ignore'`: the offer is not ahead of this node (nothing to adopt, nothing wrong) */
  | { ok: false, refusal: Refusal }

/**
 * Checks `offer` against the state this node holds: the offered state must be the model a signed
 * commit of the offered chain names (matched against the commit of the state's own round, since a
 * peer's chain may already hold the next commit while its state is still being persisted), and that
 * chain must replay from this node's head (checkChain: each commit extends the previous model and
 * comes from a candidate its round elected). Later commits are left to gossip. The outer optimizer
 * state is taken as offered: it is not a function of the commits alone here (see protocols/sync.md).
 */
export function checkSyncOffer (mine: ChainState, offer: SyncOffer, cfg: RoundConfig, digest: RoundDeps['digest'], rank: NonNullable<RoundDeps['rank']> = electionRank, limits?: RoundDeps['limits']): SyncCheck {
  const refuse = (code: RefusalCode, reason: string, severity: Refusal['severity'] = 'reject'): SyncCheck => ({ ok: false, refusal: { severity, code, reason } })
  const st = offer.state
  if (!(st.round > mine.round)) return refuse(RefusalCode.OtherModel, `offered state of round ${st.round} is not ahead of round ${mine.round}`, 'ignore')
  if (st.params.length !== mine.params.length) return refuse(RefusalCode.StateMismatch, `offered state has ${st.params.length} parameters, the run's model ${mine.params.length}`)
  const upTo = offer.commits.findIndex(c => c.commit.round === st.round - 1)
  if (upTo < 0) return refuse(RefusalCode.StateMismatch, `offered chain has no commit of round ${st.round - 1}, which the state claims to follow`)
  if (digest(modelBytes(st.params)) !== offer.commits[upTo].commit.newModelId) return refuse(RefusalCode.StateMismatch, 'offered parameters are not the model its signed commit names')
  const adopted = offer.commits.slice(0, upTo + 1).filter(c => c.commit.round >= mine.round)
  const replay = checkChain({ round: mine.round, modelId: mine.modelId, electorate: mine.electorate, banned: mine.banned }, adopted.map(c => c.commit), cfg, rank, limits)
  if (!replay.ok) return { ok: false, refusal: { ...replay.refusal, reason: `chain refused at round ${replay.round}: ${replay.refusal.reason}` } }
  const head = replay.head
  if (head.round !== st.round || head.modelId !== st.modelId || !sameMembers(head.electorate, st.electorate) || (head.banned ?? []).join() !== (st.banned ?? []).join()) {
    return refuse(RefusalCode.StateMismatch, 'offered state does not match the head its chain replays to')
  }
  const state: ChainState = { round: head.round, modelId: head.modelId, params: st.params, outer: st.outer, electorate: head.electorate }
  if ((head.banned?.length ?? 0) > 0) state.banned = head.banned
  return { ok: true, state, adopted }
}

function sameMembers (a: readonly Member[], b: readonly Member[]): boolean {
  if (!Array.isArray(b) || a.length !== b.length) return false
  return a.every((m, i) => m.peerId === b[i]?.peerId && m.capacity === b[i]?.capacity)
}
