// Checks on announces and commits before they touch round state: ignore what is merely stale,
// reject what no honest peer would send.
import type { RoundConfig } from './config.js'
import type { Announce, Commit, SubAggregate } from './messages.js'
import type { GroupPlan } from './groups.js'
import type { RoundDeps } from './types.js'
import { compareUtf8 } from './fold.js'

/** Why a message was refused: stable codes that tests, metrics and peers' scores key on. */
export enum RefusalCode {
  /** computed from, extending or folded from another model than this node's (stale or another fork) */
  OtherModel = 'ERR_ROUND_REFUSED_OTHER_MODEL',
  /** a field no honest peer sends: empty id, non-positive count, size or capacity */
  BadField = 'ERR_ROUND_REFUSED_BAD_FIELD',
  /** an update in another codec than the run's */
  WrongCodec = 'ERR_ROUND_REFUSED_WRONG_CODEC',
  /** the author is not the candidate of the rank it claims (round or group election) */
  NotElected = 'ERR_ROUND_REFUSED_NOT_ELECTED',
  /** the commit's shape does not fit the run's mode (aggregate id, sub-aggregates) */
  WrongMode = 'ERR_ROUND_REFUSED_WRONG_MODE',
  /** an update list that is empty, unsorted, or names a peer twice */
  BadUpdateList = 'ERR_ROUND_REFUSED_UPDATE_LIST',
  /** hierarchical: group folds that do not cover the included updates exactly */
  BadGroups = 'ERR_ROUND_REFUSED_GROUPS',
  /** a chain commit for another round than the one due */
  WrongRound = 'ERR_ROUND_REFUSED_WRONG_ROUND',
  /** a round without electorate: no commit for it can be legitimate */
  NoElectorate = 'ERR_ROUND_REFUSED_NO_ELECTORATE',
  /** recomputing the commit from its inputs gave other bits */
  FoldMismatch = 'ERR_ROUND_REFUSED_FOLD_MISMATCH',
  /** the inputs a commit needs could not be fetched */
  Unverifiable = 'ERR_ROUND_REFUSED_UNVERIFIABLE',
  /** a blob that does not decode as what it was announced as */
  UndecodableBlob = 'ERR_ROUND_REFUSED_UNDECODABLE_BLOB',
  /** a synced state that does not match the signed chain it came with */
  StateMismatch = 'ERR_ROUND_REFUSED_STATE_MISMATCH',
  /** an author the run's roster does not list for that round */
  NotMember = 'ERR_ROUND_REFUSED_NOT_MEMBER',
  /** samples or capacity other than the roster gives the member (an inflated weight) */
  WrongWeight = 'ERR_ROUND_REFUSED_WRONG_WEIGHT',
  /** an update whose blob names another author or round than its announce or commit entry (a stolen update id) */
  WrongAuthor = 'ERR_ROUND_REFUSED_WRONG_AUTHOR',
  /** an update the screen refuses: not decodable, not finite, or its norm far over the round's median */
  Screened = 'ERR_ROUND_REFUSED_SCREENED',
  /** a commit that leaves out an update announced in time and fetchable, without a reason that holds */
  Censored = 'ERR_ROUND_REFUSED_CENSORED',
  /** a chain offered in sync that holds a commit this node proved wrong (a wrong fold or censorship) */
  ProvenFaulty = 'ERR_ROUND_REFUSED_PROVEN_FAULTY',
  /** a member a commit on the chain proved to have equivocated: excluded for good */
  Banned = 'ERR_ROUND_REFUSED_BANNED'
}

export interface Refusal {
  /** 'ignore': stale or from another fork; 'reject': malformed or dishonest */
  severity: 'ignore' | 'reject'
  code: RefusalCode
  reason: string
  /** censorship: the update the commit left out */
  updateId?: string
}

const ignore = (code: RefusalCode, reason: string): Refusal => ({ severity: 'ignore', code, reason })
const reject = (code: RefusalCode, reason: string): Refusal => ({ severity: 'reject', code, reason })

const isPositive = (n: number): boolean => typeof n === 'number' && Number.isFinite(n) && n > 0

type Limits = RoundDeps['limits']

/** A weight claim (an announce, or an entry of a commit or group fold) against the roster's. */
export function checkClaim (peerId: string, round: number, samples: number, capacity: number, limits: Limits): Refusal | null {
  if (limits === undefined) return null
  const l = limits(peerId, round)
  if (l === undefined) return reject(RefusalCode.NotMember, `${peerId} is not a member in round ${round}`)
  if (samples !== l.samples) return reject(RefusalCode.WrongWeight, `${peerId} claims ${samples} samples, the roster gives ${l.samples}`)
  if (capacity !== l.capacity) return reject(RefusalCode.WrongWeight, `${peerId} claims capacity ${capacity}, the roster gives ${l.capacity}`)
  return null
}

export function validateAnnounce (a: Announce, modelId: string, cfg: RoundConfig, limits?: Limits): Refusal | null {
  if (a.baseModelId !== modelId) return ignore(RefusalCode.OtherModel, 'computed from another model')
  if (typeof a.peerId !== 'string' || a.peerId === '') return reject(RefusalCode.BadField, 'empty peer id')
  if (typeof a.updateId !== 'string' || a.updateId === '') return reject(RefusalCode.BadField, 'empty update id')
  if (!isPositive(a.samples) || !Number.isInteger(a.samples)) return reject(RefusalCode.BadField, `bad sample count ${a.samples}`)
  if (!isPositive(a.size) || !Number.isInteger(a.size)) return reject(RefusalCode.BadField, `bad size ${a.size}`)
  if (!isPositive(a.capacity)) return reject(RefusalCode.BadField, `bad capacity ${a.capacity}`)
  if (a.codec !== cfg.codec) return reject(RefusalCode.WrongCodec, `codec ${a.codec} is not the run's ${cfg.codec}`)
  return checkClaim(a.peerId, a.round, a.samples, a.capacity, limits)
}

/** Most equivocation proofs one commit carries. */
export const MAX_PROOFS_PER_COMMIT = 4

export function validateCommitShape (c: Commit, modelId: string, candidates: readonly string[], cfg: RoundConfig, limits?: Limits, banned: readonly string[] = []): Refusal | null {
  if (c.prevModelId !== modelId) return ignore(RefusalCode.OtherModel, 'extends another model')
  if (!Number.isInteger(c.rank) || c.rank < 0 || c.rank >= candidates.length) return reject(RefusalCode.NotElected, `rank ${c.rank} out of range`)
  if (candidates[c.rank] !== c.aggregator) return reject(RefusalCode.NotElected, `${c.aggregator} is not the candidate of rank ${c.rank}`)
  if ((cfg.mode !== 'gossip') !== (c.aggregateId !== '')) return reject(RefusalCode.WrongMode, `aggregate id ${c.aggregateId === '' ? 'missing' : 'unexpected'} in ${cfg.mode} mode`)
  if (cfg.mode !== 'hierarchical' && (c.subAggregates?.length ?? 0) > 0) return reject(RefusalCode.WrongMode, `sub-aggregates in ${cfg.mode} mode`)
  // the O(included) part depends on the commit alone: checked once per commit object
  let r = includedChecks.get(c)
  if (r === undefined) { r = checkIncluded(c, limits); includedChecks.set(c, r) }
  if (r != null || banned.length === 0) return r
  const out = new Set(banned)
  const b = c.included.find(u => out.has(u.peerId))
  return b != null ? reject(RefusalCode.Banned, `includes ${b.peerId}, excluded for equivocation`) : null
}

const includedChecks = new WeakMap<Commit, Refusal | null>()

function checkIncluded (c: Commit, limits: Limits): Refusal | null {
  const r = checkUpdateList(c.included, c.round, limits)
  if (r != null) return r
  const proofs = c.equivocations ?? []
  if (proofs.length > MAX_PROOFS_PER_COMMIT) return reject(RefusalCode.BadField, `${proofs.length} equivocation proofs, at most ${MAX_PROOFS_PER_COMMIT}`)
  const accused = new Set<string>()
  for (const p of proofs) {
    // accused and round are derived by the net layer from the two verified envelopes
    if (typeof p.accused !== 'string' || p.accused === '' || !(p.round >= 0)) return reject(RefusalCode.BadField, 'an equivocation proof that was not verified')
    if (accused.has(p.accused)) return reject(RefusalCode.BadField, `two proofs against ${p.accused}`)
    accused.add(p.accused)
  }
  const ex = c.excluded ?? []
  const ids = new Set(c.included.map(u => u.updateId))
  for (let i = 0; i < ex.length; i++) {
    if (i > 0 && !(compareUtf8(ex[i - 1].updateId, ex[i].updateId) < 0)) return reject(RefusalCode.BadUpdateList, 'excluded updates are not strictly sorted by id')
    if (ids.has(ex[i].updateId)) return reject(RefusalCode.BadUpdateList, `update ${ex[i].updateId} both included and excluded`)
    if (!['late', 'unfetchable', 'refused'].includes(ex[i].reason)) return reject(RefusalCode.BadField, `bad exclusion reason ${String(ex[i].reason)}`)
  }
  if (typeof c.newModelId !== 'string' || c.newModelId === '') return reject(RefusalCode.BadField, 'empty model id')
  return null
}

/** Non-empty, strictly sorted by update id (the fold order), one update per peer, sane weights. */
function checkUpdateList (included: Commit['included'], round: number, limits: Limits): Refusal | null {
  if (!Array.isArray(included) || included.length === 0) return reject(RefusalCode.BadUpdateList, 'no updates included')
  const peers = new Set<string>()
  for (let i = 0; i < included.length; i++) {
    const u = included[i]
    if (i > 0 && !(compareUtf8(included[i - 1].updateId, u.updateId) < 0)) return reject(RefusalCode.BadUpdateList, 'included updates are not strictly sorted by id')
    if (peers.has(u.peerId)) return reject(RefusalCode.BadUpdateList, `peer ${u.peerId} included twice`)
    peers.add(u.peerId)
    if (!isPositive(u.samples) || !Number.isInteger(u.samples)) return reject(RefusalCode.BadField, `bad sample count ${u.samples}`)
    if (!isPositive(u.capacity)) return reject(RefusalCode.BadField, `bad capacity ${u.capacity}`)
    const claim = checkClaim(u.peerId, round, u.samples, u.capacity, limits)
    if (claim != null) return claim
  }
  return null
}

const electorates = new WeakMap<Commit, { members: Array<{ peerId: string, capacity: number }>, ids: Set<string> }>()

/** Next round's electorate and the included ids of a commit, derived once per commit object. */
export function commitMembers (c: Commit): { members: Array<{ peerId: string, capacity: number }>, ids: Set<string> } {
  let e = electorates.get(c)
  if (e === undefined) {
    // a member this commit proves to have equivocated is in no electorate from the next round on
    const accused = new Set((c.equivocations ?? []).map(p => p.accused))
    e = { members: c.included.filter(u => !accused.has(u.peerId)).map(u => ({ peerId: u.peerId, capacity: u.capacity })), ids: new Set(c.included.map(u => u.updateId)) }
    electorates.set(c, e)
  }
  return e
}

/**
 * Hierarchical commits: every listed group fold comes from a sub-candidate of its group, each group
 * appears once, and every included update belongs to a listed group (so a group's included updates
 * are exactly what its fold must be recomputable from). Checked once per commit object.
 */
export function validateCommitGroups (c: Commit, plan: GroupPlan, groupOfPeer: (peerId: string) => number, backups: number): Refusal | null {
  let r = groupChecks.get(c)
  if (r === undefined) { r = checkGroups(c, plan, groupOfPeer, backups); groupChecks.set(c, r) }
  return r
}

const groupChecks = new WeakMap<Commit, Refusal | null>()

function checkGroups (c: Commit, plan: GroupPlan, groupOfPeer: (peerId: string) => number, backups: number): Refusal | null {
  const refs = c.subAggregates ?? []
  if (refs.length === 0) return reject(RefusalCode.BadGroups, 'hierarchical commit lists no sub-aggregates')
  const groups = new Set<number>()
  for (const ref of refs) {
    const bad = checkAuthor(ref, plan, backups)
    if (bad != null) return bad
    if (groups.has(ref.group)) return reject(RefusalCode.BadGroups, `group ${ref.group} listed twice`)
    groups.add(ref.group)
    if (typeof ref.subAggregateId !== 'string' || ref.subAggregateId === '') return reject(RefusalCode.BadField, 'empty sub-aggregate id')
  }
  const byGroup = commitGroups(c, groupOfPeer)
  for (const [g, e] of byGroup) {
    if (!groups.has(g)) return reject(RefusalCode.BadGroups, `update of ${e.updates[0].peerId} belongs to group ${g}, which has no sub-aggregate in the commit`)
  }
  if (byGroup.size !== groups.size) return reject(RefusalCode.BadGroups, 'a listed sub-aggregate has no included update')
  return null
}

function checkAuthor (s: { group: number, aggregator: string, rank: number }, plan: GroupPlan, backups: number): Refusal | null {
  if (!Number.isInteger(s.group) || s.group < 0 || s.group >= plan.count) return reject(RefusalCode.NotElected, `group ${s.group} out of range (${plan.count} groups)`)
  if (!Number.isInteger(s.rank) || s.rank < 0 || s.rank > backups) return reject(RefusalCode.NotElected, `sub-aggregator rank ${s.rank} out of range`)
  if (plan.groups[s.group][s.rank] !== s.aggregator) return reject(RefusalCode.NotElected, `${s.aggregator} is not group ${s.group}'s candidate of rank ${s.rank}`)
  return null
}

/** A group fold offered by a sub-candidate: its author, its updates (all of its group, sorted, one per peer). */
export function validateSubAggregate (s: SubAggregate, modelId: string, plan: GroupPlan, groupOfPeer: (peerId: string) => number, backups: number, limits?: Limits): Refusal | null {
  if (s.baseModelId !== modelId) return ignore(RefusalCode.OtherModel, 'folded from another model')
  const bad = checkAuthor(s, plan, backups)
  if (bad != null) return bad
  if (typeof s.subAggregateId !== 'string' || s.subAggregateId === '') return reject(RefusalCode.BadField, 'empty sub-aggregate id')
  if (!isPositive(s.size) || !Number.isInteger(s.size)) return reject(RefusalCode.BadField, `bad size ${s.size}`)
  const shape = checkUpdateList(s.included, s.round, limits)
  if (shape != null) return shape
  for (const u of s.included) if (groupOfPeer(u.peerId) !== s.group) return reject(RefusalCode.BadGroups, `update of ${u.peerId} is not in group ${s.group}`)
  return null
}

const groupings = new WeakMap<Commit, Map<number, { samples: number, updates: Commit['included'] }>>()

/** A hierarchical commit's included updates by group, with each group's samples (its root-fold weight); once per commit object. */
export function commitGroups (c: Commit, groupOfPeer: (peerId: string) => number): Map<number, { samples: number, updates: Commit['included'] }> {
  let m = groupings.get(c)
  if (m === undefined) {
    m = new Map()
    for (const u of c.included) {
      const g = groupOfPeer(u.peerId)
      let e = m.get(g)
      if (e === undefined) { e = { samples: 0, updates: [] }; m.set(g, e) }
      e.samples += u.samples
      e.updates.push(u)
    }
    groupings.set(c, m)
  }
  return m
}

/** The banned set after a commit: the chain's, plus the members its proofs convict; sorted. */
export function bannedAfter (banned: readonly string[] | undefined, c: Commit): string[] | undefined {
  const proofs = c.equivocations ?? []
  if (proofs.length === 0) return banned === undefined ? undefined : [...banned]
  return [...new Set([...(banned ?? []), ...proofs.map(p => p.accused)])].sort(compareUtf8)
}
