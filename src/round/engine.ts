// The round state machine: events in (clock, messages, blobs, training results), actions out.
// Pure and transport-agnostic: the simulator and the daemon drive this same code.
import type { ParamLayout } from '../tensor/index.js'
import { encodeUpdate, decodeUpdate, type CodecState } from '../compress/index.js'
import { rankMembers } from '../election/index.js'
import type { RoundConfig } from './config.js'
import type { Announce, Commit, IncludedUpdate } from './messages.js'
import type { ChainState, Member, RoundAction, RoundDeps, RoundEvent } from './types.js'
import { aggregateUpdates, outerStep, modelBytes, compareUtf8 } from './fold.js'
import type { OuterState } from '../aggregate/index.js'
import { validateAnnounce, validateCommitShape, commitMembers, type Refusal } from './validate.js'

/** Per-round working state; dropped when the round's commit is applied. */
interface RoundWork {
  round: number
  startedAt: number
  /** full ranking of the electorate: [aggregator, backup 1, ...] and then everyone else */
  candidates: string[]
  myRank: number
  announces: Map<string, Announce>
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
}

const MAX_FETCH_TRIES = 3
/** how many rounds ahead announces/commits are buffered (bounded memory against floods) */
const LOOKAHEAD = 2
const MAX_BUFFERED = 100_000

export interface EngineSnapshot {
  chain: ChainState
  codec: CodecState
}

export class RoundEngine {
  private chain: ChainState
  private codecState: CodecState
  private work: RoundWork | null = null
  private started = false
  private readonly future: Array<{ round: number, ev: RoundEvent }> = []
  private readonly rank: NonNullable<RoundDeps['rank']>
  /** live peers outside the electorate (e.g. late joiners) that a closing candidate waits for too */
  private live = new Set<string>()

  constructor (
    readonly cfg: RoundConfig,
    readonly layout: ParamLayout,
    private readonly deps: RoundDeps,
    restore: EngineSnapshot
  ) {
    if (restore.chain.params.length !== layout.total) throw new Error(`chain parameters have ${restore.chain.params.length} elements, layout needs ${layout.total}`)
    this.chain = restore.chain
    this.codecState = restore.codec
    this.rank = deps.rank ?? ((runId, round, prevModelId, members) => rankMembers({ runId, round, prevModelId }, members).map(r => r.peerId))
  }

  get round (): number { return this.chain.round }
  get modelId (): string { return this.chain.modelId }
  get state (): ChainState { return this.chain }
  /** candidates of the current round (aggregator first), empty before start */
  get candidates (): readonly string[] { return this.work?.candidates ?? [] }

  snapshot (): EngineSnapshot {
    return { chain: this.chain, codec: this.codecState }
  }

  /** True when an announce for `round` would change what this node does (lets big simulations skip no-op deliveries). */
  wantsAnnounce (round: number): boolean {
    if (this.cfg.mode === 'gossip' || round > this.chain.round) return true
    return round === this.chain.round && this.work != null && this.work.myRank >= 0 && this.work.myRank <= this.cfg.backups
  }

  handle (now: number, ev: RoundEvent): RoundAction[] {
    const out: RoundAction[] = []
    switch (ev.type) {
      case 'start':
        if (!this.started) { this.started = true; this.beginRound(now, out) }
        break
      case 'synced':
        if (ev.state.round > this.chain.round || !this.started) {
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
        this.onAnnounce(now, ev.msg, out)
        break
      case 'blob':
        this.onBlob(ev.id, ev.bytes, out)
        break
      case 'blobFailed':
        this.onBlobFailed(ev.id, ev.reason, out)
        break
      case 'commit':
        this.onCommit(now, ev.msg, out)
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
    this.work = {
      round: c.round,
      startedAt: now,
      candidates,
      myRank: candidates.indexOf(this.deps.self),
      announces: new Map(),
      byPeer: new Map(),
      blobs: new Map(),
      fetching: new Map(),
      failed: new Set(),
      closing: null,
      committed: false,
      pending: [],
      rejected: new Set(),
      myUpdateId: null,
      wakes: new Set()
    }
    out.push({ type: 'train', round: c.round, params: c.params, steps: this.cfg.innerSteps })
    out.push({ type: 'log', level: 'debug', msg: 'round started', data: { round: c.round, aggregator: candidates[0], myRank: this.work.myRank } })
    // replay what arrived early for this round
    const ready = this.future.filter(f => f.round === c.round)
    const keep = this.future.filter(f => f.round > c.round)
    this.future.length = 0
    this.future.push(...keep)
    for (const f of ready) {
      if (f.ev.type === 'announce') this.onAnnounce(now, f.ev.msg, out)
      else if (f.ev.type === 'commit') this.onCommit(now, f.ev.msg, out)
    }
  }

  private onTrained (now: number, round: number, trained: Float32Array, samples: number, out: RoundAction[]): void {
    const w = this.work
    if (w == null || round !== this.chain.round || w.myUpdateId != null) return // stale work from an earlier round
    if (trained.length !== this.layout.total) throw new Error(`trained parameters have ${trained.length} elements, layout needs ${this.layout.total}`)
    const base = this.chain.params
    const delta = new Float32Array(base.length)
    for (let i = 0; i < delta.length; i++) delta[i] = base[i] - trained[i]
    const enc = encodeUpdate(this.cfg.codec, delta, this.layout, { ...this.codecState, round })
    this.codecState = enc.state
    const id = this.deps.digest(enc.bytes)
    w.myUpdateId = id
    const msg: Announce = {
      runId: this.cfg.runId, round, peerId: this.deps.self, updateId: id, baseModelId: this.chain.modelId,
      samples, codec: this.cfg.codec, size: enc.bytes.length, capacity: this.myCapacity()
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
      this.buffer(msg.round, { type: 'announce', msg })
      return
    }
    const w = this.work
    if (msg.round < w.round) return
    const refusal = validateAnnounce(msg, this.chain.modelId, this.cfg)
    if (refusal != null) { this.refuse('announce', refusal, msg.peerId, out); return }
    if (w.byPeer.has(msg.peerId)) return // one update per peer per round: the first wins
    if (w.closing != null || w.committed) return // set already closed; this one waits for the next round
    w.announces.set(msg.updateId, msg)
    w.byPeer.set(msg.peerId, msg.updateId)
    if (this.fetchesEagerly()) this.ensureBlob(msg.updateId, [msg.peerId], out)
  }

  /** gossip mode: everyone folds itself; aggregator mode: candidates up to k keep copies to take over or verify */
  private fetchesEagerly (): boolean {
    const w = this.work
    if (w == null) return false
    return this.cfg.mode === 'gossip' || (w.myRank >= 0 && w.myRank <= this.cfg.backups)
  }

  private ensureBlob (id: string, providers: string[], out: RoundAction[]): void {
    const w = this.work!
    if (w.blobs.has(id) || w.fetching.has(id) || w.failed.has(id)) return
    w.fetching.set(id, 1)
    out.push({ type: 'fetch', id, providers, kind: 'update' })
  }

  private onBlob (id: string, bytes: Uint8Array, out: RoundAction[]): void {
    const w = this.work
    if (w == null || !w.fetching.has(id)) return
    w.fetching.delete(id)
    if (this.deps.digest(bytes) !== id) { this.onBlobFailed(id, 'content does not match its id', out); return }
    w.blobs.set(id, bytes)
  }

  private onBlobFailed (id: string, reason: string, out: RoundAction[]): void {
    const w = this.work
    if (w == null) return
    const tries = w.fetching.get(id) ?? MAX_FETCH_TRIES
    w.fetching.delete(id)
    if (tries < MAX_FETCH_TRIES) {
      w.fetching.set(id, tries + 1)
      out.push({ type: 'fetch', id, providers: this.providersOf(id), kind: this.isAggregateId(id) ? 'aggregate' : 'update' })
      return
    }
    w.failed.add(id)
    out.push({ type: 'log', level: 'warn', msg: 'blob unavailable', data: { id, reason } })
  }

  private isAggregateId (id: string): boolean {
    return this.work?.pending.some(c => c.aggregateId === id) ?? false
  }

  private providersOf (id: string): string[] {
    const w = this.work!
    const a = w.announces.get(id)
    const ps = new Set<string>()
    if (a != null) ps.add(a.peerId)
    for (const c of w.pending) if (c.aggregateId === id || c.included.some(u => u.updateId === id)) ps.add(c.aggregator)
    for (const p of w.candidates.slice(0, this.cfg.backups + 1)) if (p !== this.deps.self) ps.add(p)
    return [...ps]
  }

  private buffer (round: number, ev: RoundEvent): void {
    if (round > this.chain.round + LOOKAHEAD || this.future.length >= MAX_BUFFERED) return
    this.future.push({ round, ev })
  }

  private refuse (what: string, r: Refusal, from: string, out: RoundAction[]): void {
    out.push({ type: 'log', level: r.severity === 'reject' ? 'warn' : 'debug', msg: `${what} refused: ${r.reason}`, data: { from } })
  }

  // ---- the responsible candidate ----

  private progress (now: number, out: RoundAction[]): void {
    const w = this.work
    if (w == null || w.committed) return
    this.tryVerifyPending(now, out)
    if (this.work !== w || w.committed) return // a commit was applied
    const sched = this.windowOf(w.myRank)
    if (sched == null) return
    if (now < sched.start) { this.wakeAt(sched.start, out); return }
    if (w.closing == null) {
      if (this.closeCondition(now, sched, out)) {
        w.closing = [...w.announces.values()]
          .filter(a => !w.failed.has(a.updateId))
          .map(a => ({ updateId: a.updateId, peerId: a.peerId, samples: a.samples, capacity: a.capacity }))
          .sort((a, b) => compareUtf8(a.updateId, b.updateId))
        for (const u of w.closing) this.ensureBlob(u.updateId, [u.peerId], out)
        out.push({ type: 'log', level: 'info', msg: 'closing round', data: { round: w.round, rank: w.myRank, included: w.closing.length } })
      } else return
    }
    // drop updates whose blobs could not be fetched; if that breaks the set, reopen it
    const missing = w.closing.filter(u => w.failed.has(u.updateId))
    if (missing.length > 0) {
      w.closing = w.closing.filter(u => !w.failed.has(u.updateId))
      if (w.closing.length === 0) { w.closing = null; return }
    }
    if (w.closing.every(u => w.blobs.has(u.updateId))) this.foldAndCommit(now, w.myRank, out)
  }

  /** [start, end) of the window in which candidate `rank` is responsible; null if it never is */
  private windowOf (rank: number): { start: number, end: number } | null {
    const w = this.work!
    if (rank < 0) return null
    const start = rank === 0 ? w.startedAt : w.startedAt + this.cfg.deadlineMs + (rank - 1) * this.cfg.backupStepMs
    return { start, end: w.startedAt + this.cfg.deadlineMs + rank * this.cfg.backupStepMs }
  }

  private closeCondition (now: number, win: { start: number, end: number }, out: RoundAction[]): boolean {
    const w = this.work!
    const usable = [...w.announces.values()].filter(a => !w.failed.has(a.updateId))
    const electorate = this.chain.electorate
    // everyone expected has announced: the electorate and any other live peer on this round
    const announcedAll = electorate.length > 0 && electorate.every(m => w.byPeer.has(m.peerId)) &&
      [...this.live].every(p => w.byPeer.has(p))
    if (announcedAll) return true
    const quorum = Math.max(1, Math.ceil(this.cfg.quorum * Math.max(1, electorate.length)))
    const collectAt = Math.max(win.start, w.startedAt + this.cfg.collectMs)
    if (now >= collectAt && usable.length >= quorum) return true
    // near the end of its window a candidate commits whatever it has rather than nothing
    const lastCall = win.end - 0.25 * (win.end - win.start)
    if (now >= lastCall && usable.length >= 1) return true
    this.wakeAt(now < collectAt ? collectAt : lastCall, out)
    return false
  }

  private wakeAt (t: number, out: RoundAction[]): void {
    const w = this.work!
    if (w.wakes.has(t)) return
    w.wakes.add(t)
    out.push({ type: 'wake', at: t })
  }

  /** Δ̄ over the included updates, decoding each blob when the fold reaches it. */
  private aggregateOf (included: IncludedUpdate[]): Float32Array {
    const w = this.work!
    return aggregateUpdates(this.cfg.rule, included.map(u => ({ id: u.updateId, samples: u.samples })),
      id => decodeUpdate(w.blobs.get(id)!, this.layout).vector, this.layout.total)
  }

  private foldAndCommit (now: number, rank: number, out: RoundAction[]): void {
    const w = this.work!
    const included = w.closing!
    let delta: Float32Array
    try {
      delta = this.aggregateOf(included)
    } catch (err) {
      // a blob that does not decode (or carries NaN) is its sender's fault: drop it and close again
      const bad = included.find(u => { try { decodeUpdate(w.blobs.get(u.updateId)!, this.layout); return false } catch { return true } })
      if (bad == null) throw err
      w.failed.add(bad.updateId)
      w.blobs.delete(bad.updateId)
      out.push({ type: 'log', level: 'warn', msg: 'undecodable update dropped', data: { id: bad.updateId, peer: bad.peerId, error: (err as Error).message } })
      w.closing = null
      return
    }
    let applied = delta
    let aggregateId = ''
    if (this.cfg.mode === 'aggregator') {
      const enc = encodeUpdate(this.cfg.aggregateCodec, delta, this.layout, { seed: w.round })
      aggregateId = this.deps.digest(enc.bytes)
      applied = decodeUpdate(enc.bytes, this.layout).vector // everyone applies exactly what they can decode
      w.blobs.set(aggregateId, enc.bytes)
      out.push({ type: 'putBlob', id: aggregateId, bytes: enc.bytes, kind: 'aggregate' })
    }
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
    out.push({ type: 'publishCommit', msg: commit })
    this.apply(now, commit, next.params, next.state, 'self', out)
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
    const refusal = validateCommitShape(msg, this.chain.modelId, w.candidates, this.cfg)
    if (refusal != null) { w.rejected.add(key); this.refuse('commit', refusal, msg.aggregator, out); return }
    w.pending.push(msg)
    // fetch what verification needs
    if (this.cfg.mode === 'aggregator' && !this.fetchesEagerly()) {
      if (!w.blobs.has(msg.aggregateId) && !w.fetching.has(msg.aggregateId)) {
        w.fetching.set(msg.aggregateId, 1)
        out.push({ type: 'fetch', id: msg.aggregateId, providers: [msg.aggregator], kind: 'aggregate' })
      }
    } else {
      for (const u of msg.included) {
        w.failed.delete(u.updateId) // the committer has it: worth another try
        this.ensureBlob(u.updateId, [u.peerId, msg.aggregator], out)
      }
    }
  }

  private tryVerifyPending (now: number, out: RoundAction[]): void {
    const w = this.work!
    for (const c of [...w.pending]) {
      const full = !(this.cfg.mode === 'aggregator' && !this.fetchesEagerly())
      const needed = full ? c.included.map(u => u.updateId) : [c.aggregateId]
      if (needed.some(id => w.failed.has(id))) {
        w.pending = w.pending.filter(p => p !== c)
        w.rejected.add(`${c.aggregator}/${c.newModelId}`)
        out.push({ type: 'log', level: 'warn', msg: 'commit unverifiable: blobs unavailable', data: { round: c.round, aggregator: c.aggregator } })
        continue
      }
      if (!needed.every(id => w.blobs.has(id))) continue
      const result = this.recompute(c, full)
      if (result.ok) {
        this.apply(now, c, result.params, result.state, full ? 'full' : 'aggregate', out)
        return
      }
      w.pending = w.pending.filter(p => p !== c)
      w.rejected.add(`${c.aggregator}/${c.newModelId}`)
      out.push({ type: 'log', level: 'warn', msg: `commit rejected: ${result.reason}`, data: { round: c.round, aggregator: c.aggregator, rank: c.rank } })
    }
  }

  /** Recomputes a commit from its inputs; a mismatch in any bit rejects it. */
  private recompute (c: Commit, full: boolean): { ok: true, params: Float32Array, state: OuterState } | { ok: false, reason: string } {
    const w = this.work!
    let applied: Float32Array
    try {
      if (full) {
        const delta = this.aggregateOf(c.included)
        if (this.cfg.mode === 'aggregator') {
          const enc = encodeUpdate(this.cfg.aggregateCodec, delta, this.layout, { seed: c.round })
          if (this.deps.digest(enc.bytes) !== c.aggregateId) return { ok: false, reason: 'aggregate does not match the included updates' }
          applied = decodeUpdate(enc.bytes, this.layout).vector
        } else applied = delta
      } else {
        applied = decodeUpdate(w.blobs.get(c.aggregateId)!, this.layout).vector
      }
    } catch (err) {
      return { ok: false, reason: `inputs do not decode: ${(err as Error).message}` }
    }
    const next = outerStep(this.cfg.outer, this.chain.params, this.chain.outer, applied)
    if (this.deps.digest(modelBytes(next.params)) !== c.newModelId) return { ok: false, reason: 'recomputed model differs from the committed one' }
    return { ok: true, params: next.params, state: next.state }
  }

  private apply (now: number, commit: Commit, params: Float32Array, outer: OuterState, verified: 'full' | 'aggregate' | 'self', out: RoundAction[]): void {
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
    this.chain = {
      round: commit.round + 1,
      modelId: commit.newModelId,
      params,
      outer,
      electorate: commitMembers(commit).members
    }
    out.push({ type: 'applied', commit, state: this.chain, verified })
    this.beginRound(now, out)
  }
}

export type { Member }
