// The one driver of the round engine: its event queue, wake → tick, fetches, falling behind →
// sync (through checkSyncOffer), pulling commits missed in gossip, and typed events for whoever
// watches (daemon timing and metrics, simulator results). It reaches the world only through a
// RoundTransport, so the daemon, the simulator and the tests run the same code.
import type { ParamLayout } from '../tensor/index.js'
import { electionRank } from './chain-check.js'
import type { RoundConfig } from './config.js'
import { RoundEngine, type EngineSnapshot } from './engine.js'
import type { Announce, AnnounceProof, Commit, SubAggregate } from './messages.js'
import { checkSyncOffer } from './sync-check.js'
import { decideFork, findFork, type ForkDecision, type ForkPoint } from './fork-choice.js'
import { commitMembers } from './validate.js'
import type { ChainCommit, RoundTransport, SyncOffer } from './transport.js'
import type { BlobKind, ChainState, Member, RefusedKind, RoundAction, RoundDeps, RoundEvent, VerifiedBy } from './types.js'
import { RefusalCode } from './validate.js'

/** What the driver reports, each stamped with the transport's clock (`at`). */
export type DriverEvent =
  /** the engine began `round` and asked for local training */
  | { type: 'roundStarted', round: number, at: number }
  /** the trained parameters went into the engine; `encodeMs`: its time for the delta and the encoding */
  | { type: 'trained', round: number, samples: number, encodeMs: number, at: number }
  | { type: 'announced', round: number, updateId: string, size: number, at: number }
  /** as the responsible candidate: the round's set is closed */
  | { type: 'setClosed', round: number, rank: number, included: number, groups?: number, at: number }
  | { type: 'groupFolded', round: number, group: number, rank: number, included: number, at: number }
  /** this node published its commit of `round` */
  | { type: 'committed', round: number, rank: number, included: number, at: number }
  /** a commit was applied, and how it was checked; `computeMs`: the engine's time for that step */
  | { type: 'applied', commit: Commit, state: ChainState, verified: VerifiedBy, computeMs: number, at: number }
  | { type: 'refused', what: RefusedKind, code: RefusalCode, severity: 'ignore' | 'reject', reason: string, from: string, round: number, at: number, commit?: Commit, updateId?: string }
  | { type: 'fetched', id: string, kind: BlobKind, round: number, ok: boolean, bytes: number, startAt: number, at: number, reason?: string }
  /** a commit showed this node missed rounds: it syncs */
  | { type: 'behind', round: number, from: string, at: number }
  | { type: 'synced', from: string, round: number, commits: number, at: number }
  | { type: 'syncRefused', from: string, code: RefusalCode, reason: string, at: number }
  | { type: 'syncFailed', reason: string, at: number }
  /** fork choice: this node left its branch from `round` on for `from`'s, or kept its own */
  | { type: 'forkChosen', round: number, from: string, adopted: boolean, abandoned: number, at: number, decision?: ForkDecision }
  /** a commit this node missed in gossip was pulled from a peer that applied it */
  | { type: 'commitPulled', round: number, from: string, at: number }
  | { type: 'log', level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown>, at: number }
  /** the engine threw on an event (a bug): the event is dropped, the driver goes on */
  | { type: 'engineError', event: RoundEvent['type'], error: Error, at: number }

/** Work the driver waits for before it hands the engine its next event (persistence). */
export interface DriverHooks {
  /** a commit was applied: persist it (and the state) before anything else happens */
  applied?: (commit: Commit, state: ChainState, verified: VerifiedBy) => void | Promise<void>
  /**
   * a sync was checked: persist the adopted commits before the node moves to their state. With
   * `fork`, the node leaves its own branch from `fork.round` on (keep `fork.abandoned` as evidence)
   */
  adopted?: (commits: ChainCommit[], state: ChainState, fork?: { round: number, abandoned: Commit[] }) => void | Promise<void>
  /**
   * this node is about to publish its update: e.g. count a differentially private release durably
   * first (a crash between the two must not leave a release uncounted)
   */
  announcing?: (msg: Announce) => void | Promise<void>
  /** this node is about to publish its commit: e.g. sign it and keep the signed bytes */
  committing?: (commit: Commit) => void | Promise<void>
  /**
   * refold a commit of a round this node already passed (fork choice, before it leaves its branch
   * for one whose first commit it never checked): null where it no longer holds that round's state
   * or inputs, or cannot check it in this mode (protocols/sync.md §7)
   */
  checkPast?: (commit: Commit) => Promise<PastCheck> | undefined
}

/** What refolding a past commit found: it holds, it does not (why), or it cannot be told (null). */
export type PastCheck = { ok: true } | { ok: false, reason: string } | null

export interface DriverOptions {
  cfg: RoundConfig
  layout: ParamLayout
  deps: RoundDeps
  restore: EngineSnapshot
  hooks?: DriverHooks
  /**
   * how long a peer may be one commit ahead before this node asks it for that commit (gossip may
   * have lost it) @default 300
   */
  commitPullGraceMs?: number
  /**
   * this node's applied commits from `fromRound` on, sorted: what fork choice compares another
   * branch with. Absent: a node on another branch than its peers stays there (no fork healing)
   */
  ownChain?: (fromRound: number) => Commit[]
  /** round 0's electorate, for a fork at the first round */
  genesisElectorate?: Member[]
}

/** how far back a fork is looked for (rounds) */
export const FORK_DEPTH = 64

export class RoundDriver {
  readonly engine: RoundEngine
  private readonly queue: RoundEvent[] = []
  private busy = false
  private stopped = false
  private idle: Promise<void> = Promise.resolve()
  private resolveIdle: (() => void) | null = null
  private syncing = false
  private readonly pulling = new Set<number>()
  /** commits this node proved wrong (refolded or censorship-checked): a chain through one is never adopted */
  private readonly faulty = new Map<string, RefusalCode>()
  /** when each peer was last asked for its branch (fork checks are rate-limited per peer) */
  private readonly forkAsked = new Map<string, number>()
  private readonly listeners: Array<(e: DriverEvent) => void> = []
  private readonly hooks: DriverHooks
  private readonly graceMs: number
  private readonly rank: NonNullable<RoundDeps['rank']>

  constructor (private readonly o: DriverOptions, private readonly transport: RoundTransport) {
    this.engine = new RoundEngine(o.cfg, o.layout, o.deps, o.restore)
    this.hooks = o.hooks ?? {}
    this.graceMs = o.commitPullGraceMs ?? 300
    this.rank = o.deps.rank ?? electionRank
  }

  get round (): number { return this.engine.round }
  get state (): ChainState { return this.engine.state }
  get self (): string { return this.o.deps.self }

  /** Watch the driver's events (synchronously, in order). */
  on (listener: (e: DriverEvent) => void): void { this.listeners.push(listener) }

  /**
   * Start the first round. With `catchUp`, first ask peers whether the run moved on (a late joiner,
   * or a node back from a long crash) and adopt their state if it checks out.
   */
  start (opts: { catchUp?: boolean } = {}): void {
    if (opts.catchUp === true) this.sync(() => this.deliver({ type: 'start' }))
    else this.deliver({ type: 'start' })
  }

  /** Incoming gossip (already authenticated by the transport). */
  receive (msg: { type: 'announce', msg: Announce, proof?: AnnounceProof } | { type: 'commit', msg: Commit } | { type: 'subAggregate', msg: SubAggregate }): void {
    if (msg.type === 'announce' && msg.msg.round === this.engine.round + 1) {
      // an announce for the next round means its author applied this one: its commit may be lost to us
      this.peerAt(msg.msg.peerId, msg.msg.round - 1)
    }
    if (msg.type === 'commit' && this.onOtherBranch(msg.msg)) this.forkCheck(msg.msg.aggregator, msg.msg.round)
    this.deliver(msg)
  }

  /**
   * A commit that is not on this node's chain although its round is not ahead: for this round but
   * extending another model, or for a round passed with another commit than the one applied here.
   */
  private onOtherBranch (c: Commit): boolean {
    if (this.o.ownChain == null || c.round > this.engine.round) return false
    if (c.round === this.engine.round) return c.prevModelId !== this.engine.modelId
    const mine = this.o.ownChain(c.round)[0]
    return mine != null && mine.round === c.round && mine.newModelId !== c.newModelId
  }

  /** Peers known alive and on this run (presence): a closing candidate waits for them too. */
  setLive (live: readonly string[]): void {
    this.deliver({ type: 'peers', live: [...live] })
  }

  /**
   * A peer says it applied `appliedRound`: one round ahead of us means a commit we may have missed
   * (pulled after a grace), two or more mean we missed rounds (sync).
   */
  peerAt (peer: string, appliedRound: number): void {
    if (this.stopped || peer === this.self) return
    if (appliedRound >= this.engine.round + 1) this.sync()
    else if (appliedRound === this.engine.round) this.pullLater(peer, appliedRound)
  }

  /** Hand the engine an event; events are handled one at a time, in arrival order. */
  deliver (ev: RoundEvent): void {
    if (this.stopped) return
    this.queue.push(ev)
    this.drain()
  }

  /**
   * The transport lost the callbacks it held (a node cut off the network and back, in the
   * simulator): forget the syncs and pulls in flight so new ones can start. The engine keeps its
   * round work; blobs it was fetching fail by its own retries.
   */
  reconnected (): void {
    this.syncing = false
    this.pulling.clear()
  }

  /** Resolves when no event is being handled (a simulator waits for it to keep virtual time exact). */
  async whenIdle (): Promise<void> { await this.idle }

  /** Stop handling events; resolves when the one in progress (and its persistence) is done. */
  async stop (): Promise<void> {
    this.stopped = true
    this.queue.length = 0
    await this.idle
  }

  private emit (e: DriverEvent): void {
    for (const l of this.listeners) l(e)
  }

  private drain (): void {
    if (this.busy) return
    this.busy = true
    // one idle promise per busy spell, however many times persistence pauses it
    if (this.resolveIdle == null) this.idle = new Promise(resolve => { this.resolveIdle = resolve })
    for (;;) {
      const ev = this.queue.shift()
      if (ev == null || this.stopped) break
      const now = this.transport.now()
      const t0 = performance.now()
      let actions: RoundAction[]
      try {
        actions = this.engine.handle(now, ev)
      } catch (err) {
        this.emit({ type: 'engineError', event: ev.type, error: err as Error, at: now })
        continue
      }
      const ms = performance.now() - t0
      if (ev.type === 'trained') this.emit({ type: 'trained', round: ev.round, samples: ev.samples, encodeMs: ms, at: now })
      const pending = this.perform(actions, 0, now, ms)
      if (pending != null) {
        // persistence in progress: the next event waits for it
        pending.catch(err => { this.emit({ type: 'log', level: 'warn', msg: 'action failed', data: { err: String(err) }, at: this.transport.now() }) })
          .finally(() => { this.busy = false; this.drain() })
        return
      }
    }
    this.busy = false
    const resolve = this.resolveIdle
    this.resolveIdle = null
    resolve?.()
  }

  /** Performs actions from index `i`; returns a promise when one of them must be awaited. */
  private perform (actions: RoundAction[], i: number, now: number, ms: number): Promise<void> | undefined {
    for (; i < actions.length; i++) {
      const r = this.performOne(actions[i], now, ms)
      if (r != null) {
        const next = i + 1
        return r.then(() => this.perform(actions, next, now, ms))
      }
    }
    return undefined
  }

  private performOne (a: RoundAction, now: number, ms: number): Promise<void> | undefined {
    const t = this.transport
    switch (a.type) {
      case 'train':
        this.emit({ type: 'roundStarted', round: a.round, at: now })
        t.train(a.round, a.params, a.steps, r => {
          if (r != null) this.deliver({ type: 'trained', round: a.round, params: r.params, samples: r.samples })
        })
        return
      case 'putBlob': return asPromise(t.putBlob(a.id, a.bytes, a.kind, this.engine.round))
      case 'publishAnnounce': {
        this.emit({ type: 'announced', round: a.msg.round, updateId: a.msg.updateId, size: a.msg.size, at: now })
        const before = asPromise(this.hooks.announcing?.(a.msg))
        const publish = (): Promise<void> | undefined => asPromise(t.publish({ type: 'announce', msg: a.msg, audience: this.engine.announceAudience() }))
        return before != null ? before.then(publish) : publish()
      }
      case 'publishSubAggregate':
        return asPromise(t.publish({ type: 'subAggregate', msg: a.msg, audience: this.engine.subAggregateAudience(a.msg.group) }))
      case 'publishCommit': {
        this.emit({ type: 'committed', round: a.msg.round, rank: a.msg.rank, included: a.msg.included.length, at: now })
        const before = asPromise(this.hooks.committing?.(a.msg))
        const publish = (): Promise<void> | undefined => asPromise(t.publish({ type: 'commit', msg: a.msg }))
        return before != null ? before.then(publish) : publish()
      }
      case 'fetch': this.fetch(a.id, a.providers, a.kind, a.round); return
      case 'applied':
        this.emit({ type: 'applied', commit: a.commit, state: a.state, verified: a.verified, computeMs: ms, at: now + ms })
        return asPromise(this.hooks.applied?.(a.commit, a.state, a.verified))
      case 'behind':
        this.emit({ type: 'behind', round: a.round, from: a.from, at: now })
        this.sync()
        return
      case 'wake': t.at(a.at, () => this.deliver({ type: 'tick' })); return
      case 'closed': this.emit({ type: 'setClosed', round: a.round, rank: a.rank, included: a.included, groups: a.groups, at: now }); return
      case 'groupFolded': this.emit({ type: 'groupFolded', round: a.round, group: a.group, rank: a.rank, included: a.included, at: now }); return
      case 'refused':
        if (a.commit != null && PROOF_CODES.has(a.code)) {
          if (this.faulty.size >= MAX_FAULTY) this.faulty.delete(this.faulty.keys().next().value as string)
          this.faulty.set(commitKey(a.commit), a.code)
        }
        this.emit({ ...a, type: 'refused', at: now })
        return
      case 'log': this.emit({ type: 'log', level: a.level, msg: a.msg, data: a.data, at: now })
    }
  }

  private fetch (id: string, providers: string[], kind: BlobKind, round = this.engine.round): void {
    const startAt = this.transport.now()
    this.transport.fetchBlob(id, providers.filter(p => p !== this.self), kind, r => {
      const at = this.transport.now()
      this.emit({ type: 'fetched', id, kind, round, ok: r.ok, bytes: r.ok ? r.bytes.length : 0, startAt, at, reason: r.ok ? undefined : r.reason })
      if (!r.ok) { this.deliver({ type: 'blobFailed', id, reason: r.reason }); return }
      // keep it so this node can serve it too, then hand it to the engine
      const put = asPromise(this.transport.putBlob(id, r.bytes, kind, round))
      const ev = { type: 'blob', id, bytes: r.bytes, checked: r.checked } as const
      if (put == null) this.deliver(ev)
      else put.catch(() => {}).finally(() => this.deliver(ev))
    })
  }

  /** Fetch peers' chain and state, check it, persist what is adopted, then move the engine to it. */
  private sync (then?: () => void): void {
    if (this.syncing || this.stopped) { then?.(); return }
    this.syncing = true
    const from = this.engine.round
    this.transport.sync(from, (offer, failure) => this.whenQuiet(() => {
      const done = (): void => { this.syncing = false; then?.() }
      const at = this.transport.now()
      if (offer == null) {
        if (failure != null) this.emit({ type: 'syncFailed', reason: failure, at })
        done()
        return
      }
      const proven = offer.commits.find(c => this.faulty.has(commitKey(c.commit)))
      const check: ReturnType<typeof checkSyncOffer> = proven != null
        ? { ok: false, refusal: { severity: 'reject', code: RefusalCode.ProvenFaulty, reason: `the chain holds ${proven.commit.aggregator}'s commit of round ${proven.commit.round}, which this node proved wrong (${this.faulty.get(commitKey(proven.commit))})` } }
        : checkSyncOffer(this.engine.state, offer, this.o.cfg, this.o.deps.digest, this.rank, this.o.deps.limits)
      if (!check.ok) {
        if (check.refusal.severity === 'reject') this.emit({ type: 'syncRefused', from: offer.from, code: check.refusal.code, reason: check.refusal.reason, at })
        done()
        // a chain that does not extend this node's head may be the branch the others followed
        if (check.refusal.code === RefusalCode.OtherModel && check.refusal.severity === 'reject') this.forkCheck(offer.from, offer.commits.at(-1)?.commit.round)
        return
      }
      const adopt = (): void => {
        if (!this.stopped && check.state.round > this.engine.round) {
          this.emit({ type: 'synced', from: offer.from, round: check.state.round, commits: check.adopted.length, at: this.transport.now() })
          this.deliverFirst({ type: 'synced', state: check.state })
        }
        done()
      }
      const persisted = asPromise(this.hooks.adopted?.(check.adopted, check.state))
      if (persisted == null) adopt()
      else {
        const release = this.hold()
        persisted.then(adopt, err => {
          this.emit({ type: 'syncFailed', reason: `adopted chain not persisted: ${String(err)}`, at: this.transport.now() })
          done()
        }).finally(release)
      }
    }))
  }

  /**
   * Hold the event queue while an adopted chain is persisted: a commit applied (and persisted) in
   * between would leave the store with the adopted commits and that commit's state, or the other
   * way round, and a crash then resumes at a snapshot its log does not lead to. Events that arrive
   * meanwhile wait; the returned function lets them through.
   */
  private hold (): () => void {
    this.busy = true
    if (this.resolveIdle == null) this.idle = new Promise(resolve => { this.resolveIdle = resolve })
    return () => { this.busy = false; this.drain() }
  }

  /** The move to an adopted state goes ahead of events that queued while it was persisted. */
  private deliverFirst (ev: RoundEvent): void {
    if (this.stopped) return
    this.queue.unshift(ev)
    this.drain()
  }

  /**
   * Run `fn` once no event is being handled and no action is being persisted: a sync offer is
   * checked against the state the chain store also holds, never against an engine that already
   * applied a commit whose persistence is still under way (its adopted commits would be stored
   * ahead of that one).
   */
  private whenQuiet (fn: () => void): void {
    if (!this.busy) { fn(); return }
    void this.idle.then(() => { this.whenQuiet(fn) })
  }

  /**
   * Ask `peer`, whose chain parts from this node's, for its branch, and move to it if fork choice
   * (fork-choice.ts) prefers it. This node's own
   * branch is handed to the `adopted` hook to keep as evidence. At most once per deadline per peer.
   * `theirRound`: a round the peer's chain is known to hold (the commit or offer that showed the
   * fork), so a peer far behind this node is asked for rounds it has.
   */
  private forkCheck (peer: string, theirRound?: number): void {
    const own = this.o.ownChain
    if (own == null || this.syncing || this.stopped || peer === this.self) return
    const now = this.transport.now()
    if (now < (this.forkAsked.get(peer) ?? -Infinity) + this.o.cfg.deadlineMs) return
    this.forkAsked.set(peer, now)
    if (this.forkAsked.size > 1024) this.forkAsked.delete(this.forkAsked.keys().next().value as string)
    this.syncing = true
    // the last FORK_DEPTH rounds first; a branch that parted earlier than that, from genesis
    const ask = (from: number): void => {
      this.transport.sync(from, offer => this.whenQuiet(() => {
        let deeper = false
        try {
          if (offer != null) deeper = this.chooseFork(offer, own(Math.max(0, from - 1))) === 'no-ancestor' && from > 0
        } finally {
          if (deeper) ask(0)
          else if (!this.adopting) this.syncing = false
        }
      }), peer)
    }
    ask(Math.max(0, Math.min(this.engine.round, theirRound ?? Infinity) - FORK_DEPTH))
  }

  private adopting = false

  private chooseFork (offer: SyncOffer, mine: Commit[]): 'no-ancestor' | undefined {
    const at = this.transport.now()
    const theirs = offer.commits.map(c => c.commit)
    const fork = findFork(mine, theirs)
    if (fork == null) {
      // parted before the first round both hold: the common ancestor is further back
      const first = theirs[0]
      const same = first != null && mine.find(c => c.round === first.round)
      return first != null && same != null && same !== false && same.newModelId !== first.newModelId ? 'no-ancestor' : undefined
    }
    const theirFirst = theirs.find(c => c.round === fork.round)!
    const parent = mine.find(c => c.round === fork.round - 1)
    const electorate = fork.round === 0 ? this.o.genesisElectorate : parent != null ? commitMembers(parent).members : undefined
    if (electorate == null) return undefined
    const abandoned = mine.filter(c => c.round >= fork.round)
    // a branch starting with a commit this node proved wrong is never taken, whatever the rule says
    const decision = this.faulty.has(commitKey(theirFirst)) ? undefined : decideFork(abandoned, theirs.filter(c => c.round >= fork.round), electorate, this.o.deps.announceProven)
    if (decision == null || !decision.theirs) {
      this.emit({ type: 'forkChosen', round: fork.round, from: offer.from, adopted: false, abandoned: 0, at, decision })
      return undefined
    }
    // within a few rounds what the first commits list decides, and a commit revealed after its
    // round was never refolded here: it is, where this node still holds that round's inputs
    const check = FIRST_COMMIT_RULES.has(decision.rule) ? asCheck(this.hooks.checkPast?.(theirFirst)) : undefined
    if (check == null) { this.adoptBranch(offer, fork, electorate, abandoned, decision); return undefined }
    // no other sync starts until it is done, but the rounds go on (a liar's branch must not stall them)
    this.adopting = true
    let handedOver = false
    void check.then(r => {
      if (r == null) {
        // not refoldable here (its round's state or inputs are gone): past FORK_SETTLE_ROUNDS the
        // builders, whose announces are signed, decide instead
        this.emit({ type: 'log', level: 'info', msg: 'fork: the other branch\'s first commit cannot be refolded here, so this node keeps its branch for now', data: { from: offer.from, round: fork.round, rule: decision.rule }, at: this.transport.now() })
        return
      }
      if (!r.ok) {
        // a proof like one found in its round: the commit is never taken, and the node keeps evidence
        const now = this.transport.now()
        this.performOne({ type: 'refused', what: 'commit', code: RefusalCode.FoldMismatch, severity: 'reject', reason: `refolded after its round: ${r.reason}`, from: theirFirst.aggregator, round: theirFirst.round, commit: theirFirst }, now, 0)
        this.emit({ type: 'forkChosen', round: fork.round, from: offer.from, adopted: false, abandoned: 0, at: now })
        return
      }
      handedOver = this.adoptBranch(offer, fork, electorate, abandoned, decision)
    }).catch(err => {
      this.emit({ type: 'log', level: 'warn', msg: 'fork: the other branch\'s first commit could not be checked', data: { err: String(err) }, at: this.transport.now() })
    }).finally(() => {
      if (!handedOver) { this.adopting = false; this.syncing = false }
    })
    return undefined
  }

  /**
   * Check the other branch like a sync offer from the fork round on, persist it, and move to it.
   * True when it holds the node until the branch is persisted (and ends the sync then itself).
   */
  private adoptBranch (offer: SyncOffer, fork: ForkPoint, electorate: Member[], abandoned: Commit[], decision: ForkDecision): boolean {
    const at = this.transport.now()
    // the bans in force at the fork: today's, less those my own branch's commits brought in
    const mineAfter = new Set(abandoned.flatMap(c => (c.equivocations ?? []).map(p => p.accused)))
    const banned = (this.engine.state.banned ?? []).filter(p => !mineAfter.has(p))
    const head: ChainState = { ...this.engine.state, round: fork.round, modelId: fork.baseModelId, electorate, banned: banned.length > 0 ? banned : undefined }
    const branch = { ...offer, commits: offer.commits.filter(c => c.commit.round >= fork.round) }
    const proven = branch.commits.find(c => this.faulty.has(commitKey(c.commit)))
    const check = proven != null ? null : checkSyncOffer(head, branch, this.o.cfg, this.o.deps.digest, this.rank, this.o.deps.limits)
    if (check != null && !check.ok && check.refusal.severity === 'ignore') {
      // the offered state lags its own chain (the peer is still persisting its head): nothing is
      // wrong with that branch, so the peer is asked again later instead of being paused as a liar
      this.emit({ type: 'log', level: 'debug', msg: 'fork offer trails its own chain: asking again later', data: { from: offer.from, round: fork.round }, at })
      return false
    }
    if (check == null || !check.ok) {
      this.emit({ type: 'syncRefused', from: offer.from, code: check?.refusal.code ?? RefusalCode.ProvenFaulty, reason: `other branch from round ${fork.round}: ${check?.refusal.reason ?? 'holds a commit this node proved wrong'}`, at })
      return false
    }
    const move = (): void => {
      this.emit({ type: 'forkChosen', round: fork.round, from: offer.from, adopted: true, abandoned: abandoned.length, at: this.transport.now(), decision })
      this.deliverFirst({ type: 'synced', state: check.state, rewind: true })
    }
    const persisted = asPromise(this.hooks.adopted?.(check.adopted, check.state, { round: fork.round, abandoned }))
    if (persisted == null) { move(); return false }
    this.adopting = true
    const release = this.hold()
    persisted.then(move, err => {
      this.emit({ type: 'syncFailed', reason: `adopted branch not persisted: ${String(err)}`, at: this.transport.now() })
    }).finally(() => { this.adopting = false; this.syncing = false; release() })
    return true
  }

  /**
   * Gossip can lose a commit. When a peer shows it applied the round this node still works on,
   * ask it for that commit after a grace, and hand it to the engine, which verifies it like any
   * gossiped commit (a duplicate changes nothing).
   */
  private pullLater (peer: string, round: number): void {
    if (this.pulling.has(round)) return
    this.pulling.add(round)
    this.transport.at(this.transport.now() + this.graceMs, () => {
      if (this.stopped || this.engine.round !== round) { this.pulling.delete(round); return }
      this.transport.pullCommit(peer, round, commits => {
        this.pulling.delete(round)
        for (const c of commits) {
          if (c.commit.round !== round || this.engine.round !== round) continue
          this.emit({ type: 'commitPulled', round, from: peer, at: this.transport.now() })
          this.deliver({ type: 'commit', msg: c.commit })
        }
      })
    })
  }
}

/** The rules of fork choice under which the first commits decide (a commit revealed late is checked first). */
const FIRST_COMMIT_RULES = new Set<ForkDecision['rule']>(['first commit', 'rank', 'model id'])

function asCheck (r: Promise<PastCheck> | undefined): Promise<PastCheck> | undefined {
  return r instanceof Promise ? r : undefined
}

/** Refusals that prove a commit wrong from its own inputs (not merely stale or unverifiable). */
const PROOF_CODES = new Set<RefusalCode>([RefusalCode.FoldMismatch, RefusalCode.Censored])
const MAX_FAULTY = 1024

/** One commit's identity for the faulty set: round, author and the model it claims. */
export function commitKey (c: Commit): string {
  return `${c.round}/${c.aggregator}/${c.newModelId}`
}

function asPromise (r: void | Promise<void> | undefined): Promise<void> | undefined {
  return r instanceof Promise ? r : undefined
}
