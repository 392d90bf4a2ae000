// The round state machine: events in (clock, messages, blobs, training results), actions out.
// Pure and transport-agnostic: the simulator and the daemon drive this same code.
import type { ParamLayout } from '../tensor/index.js'
import { encodeUpdate, decodeUpdate, type CodecState } from '../compress/index.js'
import { electionRank } from './chain-check.js'
import type { RoundConfig } from './config.js'
import type { Announce, AnnounceProof, Commit, ExcludedUpdate, IncludedUpdate, SubAggregate } from './messages.js'
import type { BlobKind, ChainState, Member, RefusedKind, RoundAction, RoundDeps, RoundEvent, VerifiedBy } from './types.js'
import { outerStep, modelBytes, compareUtf8 } from './fold.js'
import { aggregateBytes, authoredBy, foldGroupFolds, foldUpdates, groupFoldBytes, recomputeCommit, screenUpdates, type CommitCheck, type RoundBlobs } from './round-blobs.js'
import { effectiveFoldRule, foldMinInputs, formatFoldRule, type OuterState } from '../aggregate/index.js'
import { validateAnnounce, validateCommitShape, validateCommitGroups, validateSubAggregate, commitMembers, commitGroups, bannedAfter, MAX_PROOFS_PER_COMMIT, RefusalCode, type Refusal } from './validate.js'
import { roundGroups, groupOf, type GroupPlan } from './groups.js'
import { clipAndNoise } from '../privacy/index.js'
import { RoundError, RoundErrorCode } from './errors.js'
import { NextRoundPrefetch } from './prefetch.js'
import { candidateWindow, closeDecision, groupWindow, rootCollectMs, type Window } from './windows.js'

/** Per-round working state; dropped when the round's commit is applied. */
interface RoundWork {
  round: number
  startedAt: number
  /** full ranking of the electorate: [aggregator, backup 1, ...] and then everyone else */
  candidates: string[]
  myRank: number
  /** the claim on each update id taken so far (the first; replaced if its blob names another author) */
  announces: Map<string, Announce>
  /** later claims on an update id already claimed, kept until its blob says whose it is */
  rivals: Map<string, Announce[]>
  /** when each taken claim arrived (this node's clock): what the censorship check goes by */
  arrivedAt: Map<string, number>
  /** announces that came after this node closed its set: listed as late in its commit */
  late: Announce[]
  byPeer: Map<string, string>
  blobs: Map<string, Uint8Array>
  fetching: Map<string, number>
  failed: Set<string>
  /** the set I closed as the responsible candidate, waiting for blobs */
  closing: IncludedUpdate[] | null
  committed: boolean
  /** commits received and waiting for blobs before they can be verified */
  pending: Commit[]
  rejected: Set<string>
  myUpdateId: string | null
  wakes: Set<number>
  /** hierarchical mode: this round's groups (null in other modes or without an electorate) */
  plan: GroupPlan | null
  myGroup: number
  /** my rank in my group: 0 = sub-aggregator, i = sub-backup i, -1 = outside the electorate */
  myGroupRank: number
  /** group folds offered this round, by sub-aggregate id */
  subs: Map<string, SubAggregate>
  /** the group set I closed as the responsible sub-candidate, waiting for blobs */
  subClosing: IncludedUpdate[] | null
  /** my group has a fold out (mine or another candidate's): nothing more to do as a sub-candidate */
  subDone: boolean
  /** hierarchical root: the group folds I closed the round with, one per group */
  subsClosing: SubAggregate[] | null
  /** how each received commit is checked (derived once per commit) */
  checks: Map<Commit, CommitCheck>
}

const MAX_FETCH_TRIES = 3
/** an announce that reached a verifier within this fraction of the collect window was in time for every candidate */
const IN_TIME_FRACTION = 0.75
/** how many rounds ahead announces/commits are buffered (bounded memory against floods) */
const LOOKAHEAD = 2
const MAX_BUFFERED = 100_000

export interface EngineSnapshot {
  chain: ChainState
  codec: CodecState
}

/** Message of the warn log a folding candidate emits when too few inputs make the rule fall back (effectiveFoldRule). */
export const FOLD_FALLBACK = 'fold rule fallback'

export class RoundEngine {
  private chain: ChainState
  private codecState: CodecState
  private work: RoundWork | null = null
  private started = false
  private readonly future: Array<{ round: number, ev: RoundEvent }> = []
  /** gossip mode: the next round's updates, fetched as they are announced */
  private readonly early = new NextRoundPrefetch()
  private readonly rank: NonNullable<RoundDeps['rank']>
  /** live peers outside the electorate (e.g. late joiners) that a closing candidate waits for too */
  private live = new Set<string>()
  /** each received announce's author signature, carried into the commits that include its update */
  private readonly proofOf = new WeakMap<Announce, AnnounceProof>()
  /** UTF-8 of this node's peer id: the author field of its update envelopes */
  private readonly selfBytes: Uint8Array

  constructor (
    readonly cfg: RoundConfig,
    readonly layout: ParamLayout,
    private readonly deps: RoundDeps,
    restore: EngineSnapshot
  ) {
    if (restore.chain.params.length !== layout.total) throw new Error(`chain parameters have ${restore.chain.params.length} elements, layout needs ${layout.total}`)
    this.chain = restore.chain
    this.codecState = restore.codec
    this.rank = deps.rank ?? electionRank
    this.selfBytes = new TextEncoder().encode(deps.self)
    if (cfg.privacy != null && deps.noise == null) throw new RoundError(RoundErrorCode.BadConfig, 'differential privacy needs a noise source (RoundDeps.noise)', 'privacy')
  }

  get round (): number { return this.chain.round }
  get modelId (): string { return this.chain.modelId }
  get state (): ChainState { return this.chain }
  /** candidates of the current round (aggregator first), empty before start */
  get candidates (): readonly string[] { return this.work?.candidates ?? [] }

  snapshot (): EngineSnapshot {
    return { chain: this.chain, codec: this.codecState }
  }

  /**
   * True when an announce for `round` (from `from`) would change what this node does: lets big
   * simulations skip no-op deliveries.
   */
  wantsAnnounce (round: number, from?: string): boolean {
    if (this.cfg.mode === 'gossip' || round > this.chain.round) return true
    const w = this.work
    if (round !== this.chain.round || w == null) return false
    if (this.cfg.mode === 'aggregator') return this.isRootCandidate()
    return this.isSubCandidate() && (from == null || this.groupOfPeer(from) === w.myGroup)
  }

  /** Who acts on my announce this round: my group's candidates (hierarchical) or the root candidates. */
  announceAudience (): string[] {
    const w = this.work
    if (w == null) return []
    if (w.plan != null) return w.plan.groups[w.myGroup].slice(0, this.cfg.backups + 1)
    return w.candidates.slice(0, this.cfg.backups + 1)
  }

  /** Who acts on a group fold of `group` this round: the root candidates and the group's candidates. */
  subAggregateAudience (group: number): string[] {
    const w = this.work
    if (w?.plan == null) return []
    return [...new Set([...w.candidates.slice(0, this.cfg.backups + 1), ...(w.plan.groups[group] ?? []).slice(0, this.cfg.backups + 1)])]
  }

  /** Hierarchical mode: a peer's group this round and its rank there (-1: not in the electorate); null otherwise. */
  groupRole (peerId: string): { group: number, rank: number } | null {
    const w = this.work
    if (w?.plan == null) return null
    const group = this.groupOfPeer(peerId)
    return { group, rank: w.plan.groups[group].indexOf(peerId) }
  }

  private isRootCandidate (): boolean {
    const w = this.work
    return w != null && w.myRank >= 0 && w.myRank <= this.cfg.backups
  }

  private isSubCandidate (): boolean {
    const w = this.work
    return w?.plan != null && w.myGroupRank >= 0 && w.myGroupRank <= this.cfg.backups
  }

  private groupOfPeer (peerId: string): number {
    return groupOf(this.work!.plan!, { runId: this.cfg.runId, round: this.chain.round, prevModelId: this.chain.modelId }, peerId)
  }

  handle (now: number, ev: RoundEvent): RoundAction[] {
    const out: RoundAction[] = []
    switch (ev.type) {
      case 'start':
        if (!this.started) { this.started = true; this.beginRound(now, out) }
        break
      case 'synced':
        if (ev.state.round > this.chain.round || !this.started || ev.rewind === true) {
          this.chain = ev.state
          this.started = true
          this.beginRound(now, out)
        }
        break
      case 'tick':
        break
      case 'peers':
        this.live = new Set(ev.live)
        break
      case 'trained':
        this.onTrained(now, ev.round, ev.params, ev.samples, out)
        break
      case 'announce':
        if (ev.proof != null) this.proofOf.set(ev.msg, ev.proof)
        this.onAnnounce(now, ev.msg, out)
        break
      case 'blob':
        this.onBlob(ev.id, ev.bytes, ev.checked === true, out)
        break
      case 'blobFailed':
        this.onBlobFailed(ev.id, ev.reason, out)
        break
      case 'commit':
        this.onCommit(now, ev.msg, out)
        break
      case 'subAggregate':
        this.onSubAggregate(ev.msg, out)
        break
    }
    // applying a commit starts the next round, which may itself be ready to progress
    for (let guard = 0; this.started && guard < 8; guard++) {
      const before = this.work
      this.progress(now, out)
      if (this.work === before) break
    }
    return out
  }

  // ---- round lifecycle ----

  private beginRound (now: number, out: RoundAction[]): void {
    const c = this.chain
    const electorate = c.electorate
    const candidates = electorate.length > 0 ? this.rank(this.cfg.runId, c.round, c.modelId, electorate) : []
    // groups are drawn with their own seed, so being the root aggregator says nothing about one's group role
    const plan = this.cfg.mode === 'hierarchical' && electorate.length > 0
      ? roundGroups(this.rank, this.cfg.runId, c.round, c.modelId, electorate, this.cfg.groupSize)
      : null
    const myGroup = plan == null ? -1 : groupOf(plan, { runId: this.cfg.runId, round: c.round, prevModelId: c.modelId }, this.deps.self)
    this.work = {
      round: c.round,
      startedAt: now,
      candidates,
      myRank: candidates.indexOf(this.deps.self),
      announces: new Map(),
      rivals: new Map(),
      arrivedAt: new Map(),
      late: [],
      byPeer: new Map(),
      blobs: new Map(),
      fetching: new Map(),
      failed: new Set(),
      closing: null,
      committed: false,
      pending: [],
      rejected: new Set(),
      myUpdateId: null,
      wakes: new Set(),
      plan,
      myGroup,
      myGroupRank: plan == null ? -1 : plan.groups[myGroup].indexOf(this.deps.self),
      subs: new Map(),
      subClosing: null,
      subDone: false,
      subsClosing: null,
      checks: new Map()
    }
    out.push({ type: 'train', round: c.round, params: c.params, steps: this.cfg.innerSteps })
    out.push({ type: 'log', level: 'debug', msg: 'round started', data: { round: c.round, aggregator: candidates[0], myRank: this.work.myRank } })
    // what was fetched early for this round counts as fetched in it; its announce is checked below
    for (const [id, bytes] of this.early.take(c.round)) {
      if (bytes != null) this.work.blobs.set(id, bytes)
      else this.work.fetching.set(id, 1)
    }
    // replay what arrived early for this round
    const ready = this.future.filter(f => f.round === c.round)
    const keep = this.future.filter(f => f.round > c.round)
    this.future.length = 0
    this.future.push(...keep)
    for (const f of ready) {
      if (f.ev.type === 'announce') this.onAnnounce(now, f.ev.msg, out)
      else if (f.ev.type === 'commit') this.onCommit(now, f.ev.msg, out)
      else if (f.ev.type === 'subAggregate') this.onSubAggregate(f.ev.msg, out)
    }
  }

  private onTrained (now: number, round: number, trained: Float32Array, samples: number, out: RoundAction[]): void {
    const w = this.work
    if (w == null || round !== this.chain.round || w.myUpdateId != null) return // stale work from an earlier round
    if (trained.length !== this.layout.total) throw new Error(`trained parameters have ${trained.length} elements, layout needs ${this.layout.total}`)
    const base = this.chain.params
    let delta: Float32Array = new Float32Array(base.length)
    for (let i = 0; i < delta.length; i++) delta[i] = base[i] - trained[i]
    // differential privacy before compression: the codec and its error feedback only ever see the
    // noised update, so nothing of the clean one leaves the node later through the residual
    if (this.cfg.privacy != null) delta = clipAndNoise(delta, this.cfg.privacy, this.deps.noise!(round)).noised
    // the envelope names its author and round, so the update id (its digest) is this node's alone
    const enc = encodeUpdate(this.cfg.codec, delta, this.layout, { ...this.codecState, round }, { round, peer: this.selfBytes })
    this.codecState = enc.state
    const id = this.deps.digest(enc.bytes)
    w.myUpdateId = id
    // the roster's weights when the run has one: an honest node claims exactly what it is given
    const mine = this.deps.limits?.(this.deps.self, round)
    const msg: Announce = {
      runId: this.cfg.runId, round, peerId: this.deps.self, updateId: id, baseModelId: this.chain.modelId,
      samples: mine?.samples ?? samples, codec: this.cfg.codec, size: enc.bytes.length, capacity: mine?.capacity ?? this.myCapacity()
    }
    out.push({ type: 'putBlob', id, bytes: enc.bytes, kind: 'update' })
    out.push({ type: 'publishAnnounce', msg })
    w.blobs.set(id, enc.bytes)
    this.onAnnounce(now, msg, out)
  }

  private myCapacity (): number {
    return this.chain.electorate.find(m => m.peerId === this.deps.self)?.capacity ?? 1
  }

  private onAnnounce (now: number, msg: Announce, out: RoundAction[]): void {
    if (msg.runId !== this.cfg.runId) return
    if (msg.round > this.chain.round || this.work == null) {
      if (this.buffer(msg.round, { type: 'announce', msg })) this.fetchEarly(msg, out)
      return
    }
    const w = this.work
    if (msg.round < w.round) return
    const refusal = validateAnnounce(msg, this.chain.modelId, this.cfg, this.deps.limits)
    if (refusal != null) { this.refuse('announce', refusal, msg.peerId, out); return }
    if (this.chain.banned?.includes(msg.peerId) === true) { this.refuse('announce', { severity: 'reject', code: RefusalCode.Banned, reason: `${msg.peerId} was proven to have equivocated` }, msg.peerId, out); return }
    // hierarchical: an update is its own group's business only
    if (w.plan != null && this.groupOfPeer(msg.peerId) !== w.myGroup) return
    if (w.byPeer.has(msg.peerId)) return // one update per peer per round: the first wins
    if (w.closing != null || w.subClosing != null || w.committed) {
      // set already closed: this one waits for the next round, and my commit says it came late
      w.byPeer.set(msg.peerId, msg.updateId)
      if (w.closing != null && !w.announces.has(msg.updateId)) w.late.push(msg)
      return
    }
    const held = w.blobs.get(msg.updateId)
    if (held != null && !authoredBy(this.layout, held, msg.peerId, this.chain.round)) { this.refuseClaim(msg, out); return }
    w.byPeer.set(msg.peerId, msg.updateId)
    const first = w.announces.get(msg.updateId)
    if (first != null) {
      // a second claim on one update id: its blob (which names its author) decides between them
      const rivals = w.rivals.get(msg.updateId) ?? []
      rivals.push(msg)
      w.rivals.set(msg.updateId, rivals)
      return
    }
    w.announces.set(msg.updateId, msg)
    w.arrivedAt.set(msg.updateId, now)
    if (this.fetchesEagerly()) this.ensureBlob(msg.updateId, [msg.peerId], out)
  }

  /** An announce as a commit or group fold lists it, with its author's signature where the transport gave one. */
  private includedOf (a: Announce): IncludedUpdate {
    const u: IncludedUpdate = { updateId: a.updateId, peerId: a.peerId, samples: a.samples, capacity: a.capacity, size: a.size }
    const proof = this.proofOf.get(a)
    if (proof != null) u.announced = proof
    return u
  }

  private refuseClaim (a: Announce, out: RoundAction[]): void {
    this.refuse('announce', { severity: 'reject', code: RefusalCode.WrongAuthor, reason: `update ${a.updateId} is not ${a.peerId}'s update of round ${a.round}` }, a.peerId, out)
  }

  /**
   * An update blob arrived: the claim taken on its id must be its author's. A false claim (a copy of
   * another member's update, or a replay of an old one) is refused and the author's own claim, if
   * one came, takes its place, also in a set already closed.
   */
  private settleClaims (id: string, bytes: Uint8Array, out: RoundAction[]): void {
    const w = this.work!
    const claim = w.announces.get(id)
    if (claim == null || authoredBy(this.layout, bytes, claim.peerId, this.chain.round)) { w.rivals.delete(id); return }
    this.refuseClaim(claim, out)
    const rightful = (w.rivals.get(id) ?? []).find(a => authoredBy(this.layout, bytes, a.peerId, this.chain.round))
    for (const a of w.rivals.get(id) ?? []) if (a !== rightful) this.refuseClaim(a, out)
    w.rivals.delete(id)
    if (rightful != null) w.announces.set(id, rightful)
    else w.announces.delete(id)
    const fix = (set: IncludedUpdate[] | null): IncludedUpdate[] | null => {
      if (set == null) return null
      const kept = set.flatMap(u => u.updateId !== id ? [u] : rightful != null ? [this.includedOf(rightful)] : [])
      return kept.length > 0 ? kept : null
    }
    w.closing = fix(w.closing)
    w.subClosing = fix(w.subClosing)
  }

  /**
   * Whether this node fetches updates as they are announced: gossip mode, everyone (it folds
   * itself); aggregator mode, the root candidates up to k; hierarchical mode, the candidates of
   * the announcer's group (they keep copies to take over or verify).
   */
  private fetchesEagerly (): boolean {
    if (this.work == null) return false
    if (this.cfg.mode === 'gossip') return true
    return this.cfg.mode === 'aggregator' ? this.isRootCandidate() : this.isSubCandidate()
  }

  /** Gossip mode: a member's announce for the next round starts its fetch now (prefetch.ts). */
  private fetchEarly (msg: Announce, out: RoundAction[]): void {
    if (this.cfg.mode !== 'gossip' || this.work == null || msg.round !== this.chain.round + 1 || msg.peerId === this.deps.self) return
    if (!this.chain.electorate.some(m => m.peerId === msg.peerId) || this.chain.banned?.includes(msg.peerId) === true) return
    // everything but the base model, which is known once this node applies the commit before it
    if (validateAnnounce(msg, msg.baseModelId, this.cfg, this.deps.limits) != null) return
    if (this.early.begin(msg.round, msg.peerId, msg.updateId, msg.size)) out.push({ type: 'fetch', id: msg.updateId, providers: [msg.peerId], kind: 'update', round: msg.round })
  }

  private ensureBlob (id: string, providers: string[], out: RoundAction[], kind: BlobKind = 'update'): void {
    const w = this.work!
    if (w.blobs.has(id) || w.fetching.has(id) || w.failed.has(id)) return
    w.fetching.set(id, 1)
    out.push({ type: 'fetch', id, providers, kind })
  }

  private onBlob (id: string, bytes: Uint8Array, checked: boolean, out: RoundAction[]): void {
    const w = this.work
    // a blob the transport already checked against its id is not hashed again (a GB of update costs ~0.7 s)
    const matches = (): boolean => checked || this.deps.digest(bytes) === id
    if (w == null || !w.fetching.has(id)) {
      if (!this.early.awaits(id)) return
      if (matches()) this.early.arrived(id, bytes)
      else this.early.failed(id)
      return
    }
    // a mismatch counts as one failed try (onBlobFailed reads the tries so far): fetched again
    if (!matches()) { this.onBlobFailed(id, 'content does not match its id', out); return }
    w.fetching.delete(id)
    w.blobs.set(id, bytes)
    if (w.announces.has(id)) this.settleClaims(id, bytes, out)
  }

  private onBlobFailed (id: string, reason: string, out: RoundAction[]): void {
    const w = this.work
    if (w?.fetching.has(id) !== true && this.early.awaits(id)) { this.early.failed(id); return } // fetched again in its round
    if (w == null) return
    const tries = w.fetching.get(id) ?? MAX_FETCH_TRIES
    w.fetching.delete(id)
    if (tries < MAX_FETCH_TRIES) {
      w.fetching.set(id, tries + 1)
      out.push({ type: 'fetch', id, providers: this.providersOf(id), kind: this.kindOf(id) })
      return
    }
    w.failed.add(id)
    out.push({ type: 'log', level: 'warn', msg: 'blob unavailable', data: { id, reason } })
  }

  private kindOf (id: string): BlobKind {
    const w = this.work!
    if (w.pending.some(c => c.aggregateId === id)) return 'aggregate'
    return w.subs.has(id) || w.pending.some(c => c.subAggregates?.some(s => s.subAggregateId === id) === true) ? 'subaggregate' : 'update'
  }

  private providersOf (id: string): string[] {
    const w = this.work!
    const a = w.announces.get(id)
    const ps = new Set<string>()
    if (a != null) ps.add(a.peerId)
    const sub = w.subs.get(id)
    if (sub != null) ps.add(sub.aggregator)
    for (const c of w.pending) for (const s of c.subAggregates ?? []) if (s.subAggregateId === id) ps.add(s.aggregator)
    for (const c of w.pending) if (c.aggregateId === id || c.included.some(u => u.updateId === id)) ps.add(c.aggregator)
    for (const p of w.candidates.slice(0, this.cfg.backups + 1)) if (p !== this.deps.self) ps.add(p)
    return [...ps]
  }

  /** Keep an event for a later round; false when it is too far ahead or the buffer is full. */
  private buffer (round: number, ev: RoundEvent): boolean {
    if (round > this.chain.round + LOOKAHEAD || this.future.length >= MAX_BUFFERED) return false
    this.future.push({ round, ev })
    return true
  }

  private refuse (what: RefusedKind, r: Refusal, from: string, out: RoundAction[], commit?: Commit): void {
    const a: RoundAction = { type: 'refused', what, code: r.code, severity: r.severity, reason: r.reason, from, round: this.chain.round }
    if (commit != null) a.commit = commit
    if (r.updateId != null) a.updateId = r.updateId
    out.push(a)
  }

  // ---- the responsible candidate ----

  private progress (now: number, out: RoundAction[]): void {
    const w = this.work
    if (w == null || w.committed) return
    this.tryVerifyPending(now, out)
    if (this.work !== w || w.committed) return // a commit was applied
    if (w.plan != null) {
      this.progressGroup(now, out)
      this.progressRootOfGroups(now, out)
      return
    }
    const sched = candidateWindow(this.cfg, w.startedAt, w.myRank)
    if (sched == null) return
    if (now < sched.start) { this.wakeAt(sched.start, out); return }
    if (w.closing == null) {
      const usable = [...w.announces.values()].filter(a => !w.failed.has(a.updateId))
      const electorate = this.chain.electorate
      // everyone expected has announced: the electorate and any other live peer on this round
      const announcedAll = electorate.length > 0 && electorate.every(m => w.byPeer.has(m.peerId)) &&
        [...this.live].every(p => w.byPeer.has(p))
      if (!this.closeCondition(now, sched, this.cfg.collectMs, announcedAll, usable.length, electorate.length, out, this.ruleMinInputs())) return
      w.closing = this.closeSet(usable, out)
      out.push({ type: 'closed', round: w.round, rank: w.myRank, included: w.closing.length })
    }
    w.closing = this.withoutFailed(w.closing, u => u.updateId)
    if (w.closing != null && w.closing.every(u => w.blobs.has(u.updateId))) this.foldAndCommit(now, w.myRank, out)
  }

  /** A closed set: the usable announces in fold order, their blobs requested. */
  private closeSet (usable: Announce[], out: RoundAction[]): IncludedUpdate[] {
    const set = usable.map(a => this.includedOf(a)).sort((a, b) => compareUtf8(a.updateId, b.updateId))
    for (const u of set) this.ensureBlob(u.updateId, [u.peerId], out)
    return set
  }

  /** Drops the inputs whose blobs could not be fetched; null (reopen the set) when none is left. */
  private withoutFailed<T> (set: T[], blobOf: (x: T) => string): T[] | null {
    const w = this.work!
    const kept = set.filter(x => !w.failed.has(blobOf(x)))
    return kept.length > 0 ? kept : null
  }

  /**
   * Whether this responsible candidate closes its set now (windows.ts: closeDecision); if not, it
   * wakes when it should look again.
   */
  private closeCondition (now: number, win: Window, collectMs: number, allIn: boolean, usable: number, expected: number, out: RoundAction[], minInputs = 1): boolean {
    const d = closeDecision(this.cfg, { now, startedAt: this.work!.startedAt, win, collectMs, allIn, usable, expected, minInputs })
    if (!d.close) this.wakeAt(d.wakeAt, out)
    return d.close
  }

  private wakeAt (t: number, out: RoundAction[]): void {
    const w = this.work!
    if (w.wakes.has(t)) return
    w.wakes.add(t)
    out.push({ type: 'wake', at: t })
  }

  private ruleMinInputs (): number {
    return foldMinInputs(this.cfg.rule.rule)
  }

  /** Says so when `inputs` updates are too few for the run's rule: the fold runs its fallback (aggregate/ effectiveFoldRule). */
  private noteFallback (inputs: number, out: RoundAction[], group?: number): void {
    const rule = this.cfg.rule.rule
    const effective = effectiveFoldRule(rule, inputs)
    if (effective === rule) return
    const data: Record<string, unknown> = { round: this.work!.round, rule: formatFoldRule(rule), effective: formatFoldRule(effective), inputs }
    if (group !== undefined) data.group = group
    out.push({ type: 'log', level: 'warn', msg: FOLD_FALLBACK, data })
  }

  /** the blobs this node holds this round, with what folding them takes */
  private held (): RoundBlobs {
    return { cfg: this.cfg, layout: this.layout, blobs: this.work!.blobs }
  }

  /**
   * A fold failed: if one of its blobs does not decode (or carries NaN) that is its sender's
   * fault — it is dropped (true) and the caller closes again; otherwise the error is ours.
   */
  private dropUndecodable (ids: Array<{ id: string, peer: string }>, err: unknown, out: RoundAction[]): boolean {
    const w = this.work!
    const bad = ids.find(u => { try { decodeUpdate(w.blobs.get(u.id)!, this.layout); return false } catch { return true } })
    if (bad == null) return false
    w.failed.add(bad.id)
    w.blobs.delete(bad.id)
    out.push({ type: 'refused', what: 'blob', code: RefusalCode.UndecodableBlob, severity: 'reject', reason: `blob ${bad.id} does not decode: ${(err as Error).message}`, from: bad.peer, round: w.round })
    return true
  }

  /** `fold()` of the blobs `inputs`, or null when an undecodable one was dropped (the caller closes again). */
  private foldOrDrop (inputs: Array<{ id: string, peer: string }>, fold: () => Float32Array, out: RoundAction[]): Float32Array | null {
    try {
      return fold()
    } catch (err) {
      if (!this.dropUndecodable(inputs, err, out)) throw err
      return null
    }
  }

  private foldAndCommit (now: number, rank: number, out: RoundAction[]): void {
    const w = this.work!
    const { kept: included, refused } = screenUpdates(this.held(), w.closing!)
    for (const u of refused) out.push({ type: 'refused', what: 'blob', code: RefusalCode.Screened, severity: 'reject', reason: `update ${u.updateId} refused by the screen (not finite, or norm over ${this.cfg.maxNormRatio} × the median)`, from: u.peerId, round: w.round })
    if (included.length === 0) { for (const u of refused) w.failed.add(u.updateId); w.closing = null; return }
    const delta = this.foldOrDrop(updateSources(included), () => foldUpdates(this.held(), included), out)
    if (delta == null) { w.closing = null; return }
    this.noteFallback(included.length, out)
    const excluded = this.exclusions(included, refused)
    if (this.cfg.mode === 'gossip') { this.commitWith(now, rank, included, delta, '', undefined, out, excluded); return }
    const aggregate = this.publishAggregate(delta, out)
    this.commitWith(now, rank, included, aggregate.applied, aggregate.id, undefined, out, excluded)
  }

  /** What my commit leaves out and why: screened, unfetchable, or announced after I closed; sorted by update id. */
  private exclusions (included: IncludedUpdate[], refused: IncludedUpdate[]): ExcludedUpdate[] | undefined {
    const w = this.work!
    const byId = new Map<string, ExcludedUpdate>()
    const taken = new Set(included.map(u => u.updateId))
    for (const u of refused) byId.set(u.updateId, { updateId: u.updateId, peerId: u.peerId, reason: 'refused' })
    for (const a of w.announces.values()) {
      if (!taken.has(a.updateId) && !byId.has(a.updateId) && w.failed.has(a.updateId)) byId.set(a.updateId, { updateId: a.updateId, peerId: a.peerId, reason: 'unfetchable' })
    }
    for (const a of w.late) if (!taken.has(a.updateId) && !byId.has(a.updateId)) byId.set(a.updateId, { updateId: a.updateId, peerId: a.peerId, reason: 'late' })
    if (byId.size === 0) return undefined
    return [...byId.values()].sort((a, b) => compareUtf8(a.updateId, b.updateId))
  }

  /**
   * Encodes Δ̄ with the downlink codec, keeps and offers the blob. Returns its id and what it
   * decodes to: everyone applies exactly what they can decode.
   */
  private publishAggregate (delta: Float32Array, out: RoundAction[]): { id: string, applied: Float32Array } {
    const w = this.work!
    const bytes = aggregateBytes(this.held(), delta, w.round)
    const id = this.deps.digest(bytes)
    w.blobs.set(id, bytes)
    out.push({ type: 'putBlob', id, bytes, kind: 'aggregate' })
    return { id, applied: decodeUpdate(bytes, this.layout).vector }
  }

  private commitWith (now: number, rank: number, included: IncludedUpdate[], applied: Float32Array, aggregateId: string, subAggregates: Commit['subAggregates'], out: RoundAction[], excluded?: ExcludedUpdate[]): void {
    const w = this.work!
    const next = outerStep(this.cfg.outer, this.chain.params, this.chain.outer, applied)
    const commit: Commit = {
      runId: this.cfg.runId,
      round: w.round,
      aggregator: this.deps.self,
      rank,
      prevModelId: this.chain.modelId,
      included,
      newModelId: this.deps.digest(modelBytes(next.params)),
      aggregateId
    }
    if (subAggregates != null) commit.subAggregates = subAggregates
    if (excluded != null) commit.excluded = excluded
    const proofs = this.proofsToCarry()
    if (proofs.length > 0) commit.equivocations = proofs
    out.push({ type: 'publishCommit', msg: commit })
    this.apply(now, commit, next.params, next.state, 'self', out)
  }

  /**
   * Equivocation proofs my commit carries: against members not banned yet, one per accused, at
   * most MAX_PROOFS_PER_COMMIT. An accused whose update this commit includes is still included
   * (its update was screened like any other); it leaves the electorate from the next round on.
   */
  private proofsToCarry (): NonNullable<Commit['equivocations']> {
    const banned = new Set(this.chain.banned ?? [])
    const out: NonNullable<Commit['equivocations']> = []
    for (const p of this.deps.equivocations?.() ?? []) {
      if (out.length >= MAX_PROOFS_PER_COMMIT) break
      if (p.accused === '' || banned.has(p.accused) || out.some(q => q.accused === p.accused)) continue
      out.push(p)
    }
    return out
  }

  // ---- hierarchical mode: group folds, then the root ----

  /** A sub-candidate closes its group's set in its window and offers the group fold. */
  private progressGroup (now: number, out: RoundAction[]): void {
    const w = this.work!
    if (w.subDone || !this.isSubCandidate()) return
    if ([...w.subs.values()].some(s => s.group === w.myGroup)) { w.subDone = true; return }
    const win = groupWindow(this.cfg, w.startedAt, w.myGroupRank)
    if (now < win.start) { this.wakeAt(win.start, out); return }
    if (w.subClosing == null) {
      const usable = [...w.announces.values()].filter(a => !w.failed.has(a.updateId))
      const members = w.plan!.groups[w.myGroup]
      const allIn = members.every(p => w.byPeer.has(p)) &&
        [...this.live].every(p => w.byPeer.has(p) || this.groupOfPeer(p) !== w.myGroup)
      if (!this.closeCondition(now, win, this.cfg.collectMs, allIn, usable.length, members.length, out, this.ruleMinInputs())) return
      w.subClosing = this.closeSet(usable, out)
    }
    w.subClosing = this.withoutFailed(w.subClosing, u => u.updateId)
    if (w.subClosing == null || !w.subClosing.every(u => w.blobs.has(u.updateId))) return
    const included = w.subClosing
    const delta = this.foldOrDrop(updateSources(included), () => foldUpdates(this.held(), included), out)
    if (delta == null) { w.subClosing = null; return }
    this.noteFallback(included.length, out, w.myGroup)
    const bytes = groupFoldBytes(this.held(), delta, w.myGroup, w.round)
    const id = this.deps.digest(bytes)
    w.blobs.set(id, bytes)
    const msg: SubAggregate = {
      runId: this.cfg.runId, round: w.round, group: w.myGroup, aggregator: this.deps.self, rank: w.myGroupRank,
      baseModelId: this.chain.modelId, subAggregateId: id, included, size: bytes.length
    }
    w.subDone = true
    out.push({ type: 'putBlob', id, bytes, kind: 'subaggregate' })
    out.push({ type: 'publishSubAggregate', msg })
    out.push({ type: 'groupFolded', round: w.round, group: w.myGroup, rank: w.myGroupRank, included: included.length })
    this.onSubAggregate(msg, out)
  }

  private onSubAggregate (msg: SubAggregate, out: RoundAction[]): void {
    if (msg.runId !== this.cfg.runId) return
    if (msg.round > this.chain.round || this.work == null) {
      this.buffer(msg.round, { type: 'subAggregate', msg })
      return
    }
    const w = this.work
    if (msg.round < w.round || w.plan == null || w.committed || w.subs.has(msg.subAggregateId)) return
    const refusal = validateSubAggregate(msg, this.chain.modelId, w.plan, p => this.groupOfPeer(p), this.cfg.backups, this.deps.limits)
    if (refusal != null) { this.refuse('sub-aggregate', refusal, msg.aggregator, out); return }
    for (const s of w.subs.values()) if (s.group === msg.group && s.rank === msg.rank) return // one per candidate
    w.subs.set(msg.subAggregateId, msg)
    if (this.isRootCandidate() && w.subsClosing == null) this.ensureBlob(msg.subAggregateId, [msg.aggregator], out, 'subaggregate')
  }

  /** The root candidate closes with one group fold per group (the lowest-ranked author's) and folds those. */
  private progressRootOfGroups (now: number, out: RoundAction[]): void {
    const w = this.work!
    if (w.committed) return
    const sched = candidateWindow(this.cfg, w.startedAt, w.myRank)
    if (sched == null) return
    if (now < sched.start) { this.wakeAt(sched.start, out); return }
    if (w.subsClosing == null) {
      const best = new Map<number, SubAggregate>()
      for (const s of w.subs.values()) {
        if (w.failed.has(s.subAggregateId)) continue
        const b = best.get(s.group)
        if (b == null || s.rank < b.rank) best.set(s.group, s)
      }
      let covered = 0
      for (const s of best.values()) covered += s.included.length
      const allIn = best.size === w.plan!.count
      if (!this.closeCondition(now, sched, rootCollectMs(this.cfg), allIn, best.size === 0 ? 0 : covered, this.chain.electorate.length, out)) return
      w.subsClosing = [...best.values()].sort((a, b) => a.group - b.group)
      for (const s of w.subsClosing) this.ensureBlob(s.subAggregateId, [s.aggregator], out, 'subaggregate')
      out.push({ type: 'closed', round: w.round, rank: w.myRank, groups: w.subsClosing.length, included: covered })
    }
    w.subsClosing = this.withoutFailed(w.subsClosing, s => s.subAggregateId)
    if (w.subsClosing == null || !w.subsClosing.every(s => w.blobs.has(s.subAggregateId))) return
    const subs = w.subsClosing
    const delta = this.foldOrDrop(subs.map(s => ({ id: s.subAggregateId, peer: s.aggregator })),
      () => foldGroupFolds(this.held(), subs.map(s => ({ id: s.subAggregateId, samples: sumSamples(s.included) }))), out)
    if (delta == null) { w.subsClosing = null; return }
    const aggregate = this.publishAggregate(delta, out)
    const included = subs.flatMap(s => s.included).sort((a, b) => compareUtf8(a.updateId, b.updateId))
    const refs = subs.map(s => ({ group: s.group, subAggregateId: s.subAggregateId, aggregator: s.aggregator, rank: s.rank }))
    this.commitWith(now, w.myRank, included, aggregate.applied, aggregate.id, refs, out)
  }

  // ---- members receiving a commit ----

  private onCommit (now: number, msg: Commit, out: RoundAction[]): void {
    if (msg.runId !== this.cfg.runId) return
    if (this.work == null || msg.round > this.chain.round) {
      // a commit two rounds ahead means this node missed one: it must sync from peers
      if (msg.round >= this.chain.round + 2) out.push({ type: 'behind', round: msg.round, from: msg.aggregator })
      this.buffer(msg.round, { type: 'commit', msg })
      return
    }
    const w = this.work
    if (msg.round < w.round || w.committed) return
    const key = `${msg.aggregator}/${msg.newModelId}`
    if (w.rejected.has(key) || w.pending.some(c => `${c.aggregator}/${c.newModelId}` === key)) return
    let refusal = validateCommitShape(msg, this.chain.modelId, w.candidates, this.cfg, this.deps.limits, this.chain.banned)
    if (refusal == null && w.plan != null) refusal = validateCommitGroups(msg, w.plan, p => this.groupOfPeer(p), this.cfg.backups)
    if (refusal != null) { w.rejected.add(key); this.refuse('commit', refusal, msg.aggregator, out, msg); return }
    w.pending.push(msg)
    // fetch what verification needs; the committer has every input, so a failed fetch is worth another try
    for (const need of this.checkOf(msg).needs) {
      w.failed.delete(need.id)
      this.ensureBlob(need.id, need.providers, out, need.kind)
    }
  }

  /**
   * What this node checks of a commit, and the blobs that takes:
   * - 'full': refold every included update (gossip mode; aggregator mode's root candidates);
   * - 'groups': refold the group folds into the aggregate (hierarchical root candidates);
   * - 'aggregate': apply the committed aggregate (everyone else).
   * A hierarchical sub-candidate also refolds its own group's updates into the listed group fold.
   */
  private checkOf (c: Commit): CommitCheck {
    const w = this.work!
    const cached = w.checks.get(c)
    if (cached != null) return cached
    const needs: CommitCheck['needs'] = []
    let how: CommitCheck['how']
    let mine: CommitCheck['mine']
    let groups: CommitCheck['groups']
    if (this.cfg.mode === 'gossip' || (this.cfg.mode === 'aggregator' && this.isRootCandidate())) {
      how = 'full'
      for (const u of c.included) needs.push({ id: u.updateId, providers: [u.peerId, c.aggregator], kind: 'update' })
      // refused by the screen: recomputing the screen takes their blobs too
      for (const e of c.excluded ?? []) if (e.reason === 'refused') needs.push({ id: e.updateId, providers: [e.peerId, c.aggregator], kind: 'update' })
    } else if (w.plan != null && this.isRootCandidate()) {
      how = 'groups'
      for (const s of c.subAggregates ?? []) needs.push({ id: s.subAggregateId, providers: [s.aggregator, c.aggregator], kind: 'subaggregate' })
    } else {
      how = 'aggregate'
      // the root candidates that verified the commit hold the same bytes: they serve if the author died
      const verifiers = w.candidates.slice(0, this.cfg.backups + 1).filter(p => p !== c.aggregator && p !== this.deps.self)
      needs.push({ id: c.aggregateId, providers: [c.aggregator, ...verifiers], kind: 'aggregate' })
    }
    if (w.plan != null) {
      groups = commitGroups(c, p => this.groupOfPeer(p))
      const myRef = this.isSubCandidate() ? c.subAggregates?.find(s => s.group === w.myGroup) : undefined
      if (myRef != null) {
        const updates = groups.get(w.myGroup)?.updates ?? []
        for (const u of updates) needs.push({ id: u.updateId, providers: [u.peerId, myRef.aggregator], kind: 'update' })
        mine = { ref: myRef, updates }
      }
    }
    const check: CommitCheck = { how, needs, mine, groups }
    w.checks.set(c, check)
    return check
  }

  private tryVerifyPending (now: number, out: RoundAction[]): void {
    const w = this.work!
    for (const c of [...w.pending]) {
      const check = this.checkOf(c)
      if (check.needs.some(n => w.failed.has(n.id))) {
        this.dropPending(c, { severity: 'ignore', code: RefusalCode.Unverifiable, reason: 'blobs it needs are unavailable' }, out)
        continue
      }
      if (!check.needs.every(n => w.blobs.has(n.id))) continue
      const censored = check.how === 'full' && w.plan == null ? this.leftOut(c) : null
      if (censored != null) { this.dropPending(c, { severity: 'reject', code: RefusalCode.Censored, reason: censored.reason, updateId: censored.updateId }, out); continue }
      const result = recomputeCommit(this.held(), this.chain, c, check, this.deps.digest)
      if (result.ok) {
        // a verifier re-encoded the aggregate bit for bit: it can serve members too
        if (result.aggregate != null) out.push({ type: 'putBlob', id: c.aggregateId, bytes: result.aggregate, kind: 'aggregate' })
        this.apply(now, c, result.params, result.state, check.how, out)
        return
      }
      this.dropPending(c, { severity: 'reject', code: RefusalCode.FoldMismatch, reason: result.reason }, out)
    }
  }

  /**
   * Censorship check (gossip.md §5): an update of a member of this round's electorate whose announce
   * reached me in the first three quarters of the collect window and whose blob I hold and can
   * decode must be in the commit, included or excluded with a reason ('late' does not count for it:
   * I saw it in time, and so could the author). Returns why the commit fails, or null.
   */
  private leftOut (c: Commit): { reason: string, updateId: string } | null {
    const w = this.work!
    const listed = new Set(c.included.map(u => u.updateId))
    for (const e of c.excluded ?? []) if (e.reason !== 'late') listed.add(e.updateId)
    const inTime = w.startedAt + IN_TIME_FRACTION * this.cfg.collectMs
    const electorate = new Set(this.chain.electorate.map(m => m.peerId))
    for (const [id, a] of w.announces) {
      if (listed.has(id) || !electorate.has(a.peerId) || (w.arrivedAt.get(id) ?? Infinity) > inTime) continue
      const bytes = w.blobs.get(id)
      if (bytes == null || !authoredBy(this.layout, bytes, a.peerId, this.chain.round)) continue
      try { decodeUpdate(bytes, this.layout) } catch { continue }
      return { reason: `leaves out ${a.peerId}'s update ${id}, announced in time and fetchable`, updateId: id }
    }
    return null
  }

  private dropPending (c: Commit, why: Refusal, out: RoundAction[]): void {
    const w = this.work!
    w.pending = w.pending.filter(p => p !== c)
    w.rejected.add(`${c.aggregator}/${c.newModelId}`)
    this.refuse('commit', why, c.aggregator, out, c)
  }

  private apply (now: number, commit: Commit, params: Float32Array, outer: OuterState, verified: VerifiedBy, out: RoundAction[]): void {
    const w = this.work!
    w.committed = true
    // error feedback: an update of mine that missed the round is not lost, it is sent again later
    if (this.cfg.restoreExcluded && w.myUpdateId != null && !commitMembers(commit).ids.has(w.myUpdateId)) {
      const mine = w.blobs.get(w.myUpdateId)
      const residual = this.codecState.residual
      if (mine != null && residual != null) {
        const sent = decodeUpdate(mine, this.layout).vector
        for (let i = 0; i < residual.length; i++) residual[i] += sent[i]
      }
    }
    const banned = bannedAfter(this.chain.banned, commit)
    this.chain = {
      round: commit.round + 1,
      modelId: commit.newModelId,
      params,
      outer,
      electorate: commitMembers(commit).members
    }
    if (banned != null && banned.length > 0) this.chain.banned = banned
    out.push({ type: 'applied', commit, state: this.chain, verified })
    this.beginRound(now, out)
  }
}

export type { Member }

function updateSources (included: readonly IncludedUpdate[]): Array<{ id: string, peer: string }> {
  return included.map(u => ({ id: u.updateId, peer: u.peerId }))
}

function sumSamples (included: readonly IncludedUpdate[]): number {
  let n = 0
  for (const u of included) n += u.samples
  return n
}
