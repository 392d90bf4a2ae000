// The discrete-event simulator: many RoundEngines (the daemon's own round code) on a virtual
// clock, linked by a modelled network, with stragglers, churn and injected aggregator crashes.
import { createHash } from 'node:crypto'
import { Rng } from '../tensor/index.js'
import { epsilonFor } from '../privacy/index.js'
import { rankMembers } from '../election/index.js'
import {
  toRoundConfig, modelBytes, RoundDriver, type Member, type ChainState, type RoundConfig, type Commit, type DriverEvent,
  type EngineSnapshot, type RoundTransport, type TrainResult, type ChainCommit, type SyncOffer, type Announce, type OutgoingMessage
} from '../round/index.js'
import { EventQueue } from './queue.js'
import { buildTopology } from './topology.js'
import { NetworkModel } from './network.js'
import type { SimConfig } from './config.js'
import type { TrainingBackend } from './backend.js'
import { createAdversary, type Adversary, type AnnounceOut, type AttackKind } from './attack.js'
import { SimError, SimErrorCode } from './errors.js'

export interface RoundRecord {
  round: number
  /** who committed (after a crash: a backup) */
  aggregator: string
  /** 0 = the elected aggregator committed, i = backup i */
  rank: number
  included: number
  /** hierarchical mode: group folds in the commit (0 in other modes) */
  groups: number
  loss: number | null
  accuracy: number | null
  /** language models: held-out bits per byte (null for classifiers and rounds not evaluated) */
  bitsPerByte: number | null
  /** cumulative bytes on the wire when the commit was first applied */
  bytes: number
  /** virtual seconds since the start */
  time: number
}

export interface SimResult {
  rounds: RoundRecord[]
  /** heldOutBitsPerByte: language models only, where classifiers report accuracy */
  final: { loss: number | null, accuracy: number | null, heldOutBitsPerByte?: number }
  bytesTotal: number
  virtualSeconds: number
  wallSeconds: number
  events: number
  nodeRounds: number
  completedRounds: number
  /** node-side differential privacy: ε (at the run's δ) of a node that released an update in every round; null when off */
  privacy: { epsilon: number, delta: number, clipNorm: number, noiseMultiplier: number, releases: number } | null
  /** the Byzantine members and what each did (empty when everyone was honest) */
  attackers: Array<{ peerId: string, kind: AttackKind }>
}

type SimEvent =
  /** a transport callback or timer of one node's life: dropped if the node left since */
  | { kind: 'call', node: number, life: number, fn: () => void }
  /** local training whose result is computed by the worker while the simulation goes on */
  | { kind: 'trained', node: number, life: number, result: Promise<{ params: Float32Array, samples: number }>, done: (r: TrainResult) => void }
  | { kind: 'leave', node: number }
  | { kind: 'join', node: number }
  /** what presence would tell the online members: who is alive and on the run */
  | { kind: 'live' }

interface SimNode {
  id: string
  online: boolean
  /** incremented on every departure, so events meant for an earlier life are dropped */
  life: number
  /** a node that comes back is a restarted daemon: a new driver on the state it had */
  driver: RoundDriver
  blobs: Map<string, { bytes: Uint8Array, round: number }>
  speed: number
  appliedRound: number
  /** the commits it applied in the last few rounds: what it serves to a peer that pulls one */
  recent: Map<number, Commit>
}

/** how long presence takes to tell peers that a member left (the daemon: three presence periods) */
const LIVENESS_MS = 6_000
const RECENT_COMMITS = 8
/**
 * Faults beyond churn and crashes, for adversarial and transport-conformance experiments: they act
 * on the simulated network and on what a node publishes, never inside the round code.
 */
export interface SimFaults {
  /** nodes that never run */
  dead?: number[]
  /** a node offline from the start that joins (and must catch up) once round `afterRound` is recorded */
  late?: { node: number, afterRound: number }
  /** rewrites every commit a node publishes and serves (a lying aggregator); identity for honest ones */
  tamperCommit?: (c: Commit) => Commit
  /** gossip loses the commits of `round` on their way to `node` */
  dropCommit?: { node: number, round: number }
  /** every driver event of every node */
  observe?: (node: number, e: DriverEvent) => void
  /** every message a node puts on the wire, as it is sent (after any attack rewrote it); `blobOf` reads the node's blob store */
  published?: (node: number, out: OutgoingMessage, blobOf: (id: string) => Uint8Array | undefined) => void
  /**
   * virtual ms a node's local work of `round` takes, in place of steps × stepMs × its speed (for
   * replaying compute times measured elsewhere, e.g. on real daemons); undefined keeps the model's
   */
  computeMs?: (node: number, round: number, steps: number) => number | undefined
}

const MAX_EVENTS = 500_000_000
const FETCH_TIMEOUT_MS = 5_000

export function peerName (i: number): string {
  return `n${String(i).padStart(5, '0')}`
}

/** sha-256 hex: the simulator's content ids (the daemon uses CIDs of the same digest) */
export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Approximate encoded size of a gossip message: its JSON text (protobuf is smaller, never 2× larger). */
function wireSize (msg: unknown): number {
  return JSON.stringify(msg).length
}

export class Simulation {
  private readonly queue = new EventQueue<SimEvent>()
  private readonly nodes: SimNode[] = []
  private readonly net: NetworkModel
  private readonly rng: Rng
  private readonly roundCfg: RoundConfig
  private readonly records = new Map<number, RoundRecord>()
  /** rounds whose record one node has taken on (it may still be evaluating): the first applier records a round */
  private readonly recording = new Set<number>()
  private readonly crashRounds: Set<number>
  private readonly rankMemo = new Map<string, string[]>()
  /** every applied commit by the model it made: the chain a syncing node is offered */
  private readonly byModel = new Map<string, Commit>()
  /** round 0's electorate (every node, capacity 1) */
  private genesisElectorate: Member[] = []
  private events = 0
  private nodeRounds = 0
  private now = 0
  /** the run's attackers (cfg.attack); null when everyone is honest */
  private readonly adversary: Adversary | null

  constructor (private readonly cfg: SimConfig, private readonly backend: TrainingBackend, private readonly log?: (msg: string) => void, private readonly faults: SimFaults = {}) {
    this.rng = new Rng(cfg.seed).fork('sim')
    // hierarchical rounds talk to every group's candidates: keep all their path trees (memory permitting)
    const candidates = (cfg.mode === 'hierarchical' ? Math.ceil(cfg.nodes / cfg.groupSize) + 1 : 1) * (cfg.backups + 1)
    const topo = buildTopology(cfg.topology, cfg.nodes, cfg.link, this.rng.fork('topology'), { cacheTrees: Math.max(64, 2 * candidates) })
    const down = cfg.downlinkMBps
    this.net = new NetworkModel(topo, this.rng.fork('network'), down != null ? { downlinkMBps: () => down } : {})
    this.crashRounds = new Set(cfg.crashRounds)
    this.adversary = createAdversary(cfg, backend.layout, peerName, sha256Hex)
    this.roundCfg = toRoundConfig(cfg, { runId: `sim-${cfg.seed}`, members: cfg.nodes })
    const theta0 = backend.initialParams()
    const electorate: Member[] = Array.from({ length: cfg.nodes }, (_, i) => ({ peerId: peerName(i), capacity: 1 }))
    this.genesisElectorate = electorate
    const genesis: ChainState = {
      round: 0,
      modelId: sha256Hex(modelBytes(theta0)),
      params: theta0,
      outer: { step: 0, velocity: null },
      electorate
    }
    const speedRng = this.rng.fork('speed')
    for (let i = 0; i < cfg.nodes; i++) {
      const id = peerName(i)
      const speed = Math.exp(cfg.stragglerSigma * speedRng.normal())
      const node: SimNode = { id, online: true, life: 0, driver: undefined as unknown as RoundDriver, blobs: new Map(), speed, appliedRound: -1, recent: new Map() }
      this.nodes.push(node)
      node.driver = this.newDriver(i, { chain: genesis, codec: {} })
    }
  }

  private newDriver (i: number, restore: EngineSnapshot): RoundDriver {
    const n = this.nodes[i]
    const driver = new RoundDriver({
      cfg: this.roundCfg,
      layout: this.backend.layout,
      // differential privacy's noise: seeded per node and round, so a simulated run reproduces
      deps: { self: n.id, digest: sha256Hex, rank: this.memoRank, noise: round => new Rng(`${this.cfg.seed}/dp/${n.id}/${round}`), limits: this.limits },
      restore,
      hooks: { applied: commit => this.onApplied(i, commit) },
      // fork choice (sync.md §7): this node's chain is the walk back from its model through the commits that made each
      ownChain: from => this.chainOf(this.nodes[i].driver.state.modelId, from),
      genesisElectorate: this.genesisElectorate
    }, this.transport(i))
    driver.on(e => this.onDriverEvent(i, e))
    return driver
  }

  /**
   * The roster of a simulated run: every node a member with capacity 1 and its fold weight as its
   * manifest entry would declare it, so an inflated claim is refused as in the daemon.
   */
  private readonly limits = (peerId: string): { capacity: number, samples: number } | undefined => {
    const i = /^n\d+$/.test(peerId) ? this.index(peerId) : -1
    if (!(i >= 0 && i < this.cfg.nodes)) return undefined
    return { capacity: 1, samples: this.backend.weights?.[i] ?? this.roundCfg.innerSteps }
  }

  /** Election is pure, so every simulated node may share one computation per round. */
  private readonly memoRank = (runId: string, round: number, prevModelId: string, members: Member[]): string[] => {
    const key = `${runId}/${round}/${prevModelId}/${members.length}`
    let r = this.rankMemo.get(key)
    if (r == null) {
      r = rankMembers({ runId, round, prevModelId }, members).map(m => m.peerId)
      this.rankMemo.set(key, r)
      if (this.rankMemo.size > 64) this.rankMemo.delete(this.rankMemo.keys().next().value as string)
    }
    return r
  }

  private index (peerId: string): number {
    return Number(peerId.slice(1))
  }

  private push (time: number, ev: SimEvent): void {
    this.queue.push(time, ev)
  }

  /** `fn` at `time` for node `node`, unless it left before then. */
  private call (time: number, node: number, fn: () => void): void {
    this.push(Math.max(time, this.now), { kind: 'call', node, life: this.nodes[node].life, fn })
  }

  async run (): Promise<SimResult> {
    const wall0 = performance.now()
    const startRng = this.rng.fork('start')
    const absent = new Set([...(this.faults.dead ?? []), ...(this.faults.late != null ? [this.faults.late.node] : [])])
    for (const i of absent) { this.nodes[i].online = false; this.net.setOnline(i, false) }
    for (let i = 0; i < this.nodes.length; i++) {
      const at = startRng.next() * 10
      if (!absent.has(i)) this.call(at, i, () => this.nodes[i].driver.start())
    }
    if (this.cfg.leavePerHour > 0) for (let i = 0; i < this.nodes.length; i++) this.scheduleLeave(i)
    const horizon = this.cfg.rounds * (this.cfg.innerSteps * this.cfg.stepMs * 20 + this.cfg.deadlineMs * (2 + this.cfg.backups)) + 60_000
    while (this.queue.size > 0 && this.events < MAX_EVENTS) {
      const next = this.queue.pop()!
      if (next.time > horizon) break
      this.now = next.time
      this.events++
      await this.dispatch(next.item)
      if (this.done()) break
    }
    const rounds = [...this.records.values()].sort((a, b) => a.round - b.round)
    const lastEval = [...rounds].reverse().find(r => r.accuracy != null)
    return {
      rounds,
      final: { loss: lastEval?.loss ?? null, accuracy: lastEval?.accuracy ?? null, ...(lastEval?.bitsPerByte != null ? { heldOutBitsPerByte: lastEval.bitsPerByte } : {}) },
      bytesTotal: this.net.stats.bytesTotal,
      virtualSeconds: this.now / 1000,
      wallSeconds: (performance.now() - wall0) / 1000,
      events: this.events,
      nodeRounds: this.nodeRounds,
      completedRounds: rounds.length,
      privacy: this.privacySpent(rounds.length),
      attackers: [...this.adversary?.attackers ?? []].map(([node, kind]) => ({ peerId: peerName(node), kind }))
    }
  }

  /** Each round a node releases at most one update, so `rounds` releases bound every node's ε. */
  private privacySpent (rounds: number): SimResult['privacy'] {
    const p = this.roundCfg.privacy
    if (p == null) return null
    const { epsilon } = epsilonFor({ noiseMultiplier: p.noiseMultiplier, sampleRate: p.sampleRate, steps: Math.max(1, rounds), delta: p.delta })
    return { epsilon, delta: p.delta, clipNorm: p.clipNorm, noiseMultiplier: p.noiseMultiplier, releases: rounds }
  }

  private done (): boolean {
    const last = this.cfg.rounds - 1
    if (!this.records.has(last)) return false
    return this.nodes.every(n => !n.online || n.appliedRound >= last)
  }

  private async dispatch (e: SimEvent): Promise<void> {
    switch (e.kind) {
      case 'call': {
        const n = this.nodes[e.node]
        if (!n.online || n.life !== e.life) return
        e.fn()
        // persistence-like work (the evaluation of a new round) finishes before virtual time moves on
        await n.driver.whenIdle()
        return
      }
      case 'trained': {
        const r = await e.result
        const n = this.nodes[e.node]
        if (!n.online || n.life !== e.life) return
        e.done(r)
        await n.driver.whenIdle()
        return
      }
      case 'leave': return this.leave(e.node, true)
      case 'join': return this.join(e.node)
      case 'live': return this.broadcastLive()
    }
  }

  /** The simulated network as one node's RoundTransport. */
  private transport (i: number): RoundTransport {
    const n = (): SimNode => this.nodes[i]
    return {
      now: () => this.now,
      at: (at, fn) => this.call(at, i, fn),
      publish: out => {
        if (out.type === 'announce') {
          // an attacker publishes what its attack makes of its engine's announce
          const sent = this.adversary == null ? { msg: out.msg } : this.adversary.announce(i, out.msg, this.blobOf(i))
          if (sent != null) this.gossipAnnounce(i, sent, out.audience)
          return
        }
        const size = wireSize(out.msg)
        switch (out.type) {
          case 'subAggregate':
            this.faults.published?.(i, out, this.blobOf(i))
            // gossiped to everyone (bytes); the root candidates and the group's candidates act on it
            this.accountGossip(i, size)
            this.deliver(i, out.audience.map(p => this.index(p)), size, d => d.receive({ type: 'subAggregate', msg: out.msg }), true)
            return
          case 'commit': {
            const msg = this.faults.tamperCommit?.(out.msg) ?? out.msg
            this.faults.published?.(i, { type: 'commit', msg }, this.blobOf(i))
            const drop = this.faults.dropCommit
            const targets = this.nodes.map((_, j) => j).filter(j => !(drop != null && drop.node === j && drop.round === msg.round))
            this.warmTree(i)
            this.deliver(i, targets, size, d => d.receive({ type: 'commit', msg }), false)
            this.accountGossip(i, size)
          }
        }
      },
      putBlob: (id, bytes, _kind, round) => { n().blobs.set(id, { bytes, round }) },
      fetchBlob: (id, providers, _kind, done) => { this.fetch(i, id, providers, done) },
      train: (round, params, steps, done) => {
        if (this.cfg.rounds <= round) { done(null); return } // the run is over for this node
        // not awaited: the worker trains while other nodes' events are handled; the result is
        // only needed when its (virtual) time comes, so runs stay reproducible
        const trained = this.backend.train(i, round, params, steps)
        const adversary = this.adversary
        const result = adversary?.kindOf(i) == null ? trained : trained.then(r => adversary.trained(i, round, params, r))
        result.catch(() => {})
        const computeMs = this.faults.computeMs?.(i, round, steps) ?? steps * this.cfg.stepMs * n().speed
        if (!(computeMs >= 0 && Number.isFinite(computeMs))) throw new SimError(SimErrorCode.CONFIG, `compute time of node ${i} in round ${round} must be a finite number ≥ 0 ms, got ${String(computeMs)}`)
        this.push(this.now + computeMs, { kind: 'trained', node: i, life: n().life, result, done })
        this.nodeRounds++
      },
      sync: (fromRound, done, peer) => { this.offerSync(i, fromRound, done, peer) },
      pullCommit: (from, round, done) => {
        const j = this.index(from)
        const c = this.nodes[j]?.online === true ? this.nodes[j].recent.get(round) : undefined
        const at = c != null ? this.net.messageArrival(this.now, j, i, wireSize(c)) : null
        this.call(at ?? this.now + FETCH_TIMEOUT_MS, i, () => done(c != null && at != null ? [{ commit: c }] : []))
      }
    }
  }

  /**
   * Gossips node i's announce. Every member receives it (bytes); in aggregator and hierarchical
   * modes only the round's (group's) candidates act on it, so only they get an event — unless an
   * attack keeps it from them. Attackers that act on what they overhear hear it too.
   */
  private gossipAnnounce (i: number, sent: AnnounceOut, audience: readonly string[]): void {
    const { msg } = sent
    if (sent.blob != null) this.nodes[i].blobs.set(sent.blob.id, { bytes: sent.blob.bytes, round: msg.round })
    this.faults.published?.(i, { type: 'announce', msg, audience }, this.blobOf(i))
    const size = wireSize(msg)
    this.accountGossip(i, size)
    const gossip = this.cfg.mode === 'gossip'
    const targets = gossip ? this.nodes.map((_, j) => j) : audience.map(p => this.index(p))
    const adv = this.adversary
    const wanting = targets.filter(j => this.nodes[j].driver.engine.wantsAnnounce(msg.round, msg.peerId) && (adv?.hears(j, msg) ?? true))
    this.deliver(i, wanting, size, d => d.receive({ type: 'announce', msg }), !gossip)
    if (adv?.overhears === true) this.overhear(adv, i, msg, size, audience)
  }

  /** Attackers that act on overheard announces get `msg` at its arrival and publish what they make of it. */
  private overhear (adv: Adversary, i: number, msg: Announce, size: number, audience: readonly string[]): void {
    for (const j of adv.attackers.keys()) {
      if (j === i || !this.nodes[j].online) continue
      const at = this.net.messageArrival(this.now, i, j, size)
      if (at == null) continue
      this.call(at, j, () => {
        for (const out of adv.overhear(j, msg, this.blobOf(i))) this.gossipAnnounce(j, out, audience)
      })
    }
  }

  /** Reads node i's blob store (what it serves). */
  private blobOf (i: number): (id: string) => Uint8Array | undefined {
    return id => this.nodes[i].blobs.get(id)?.bytes
  }

  private onDriverEvent (i: number, e: DriverEvent): void {
    this.faults.observe?.(i, e)
    if (e.type === 'refused' && e.severity === 'reject') this.log?.(`${(this.now / 1000).toFixed(1)}s ${this.nodes[i].id}: ${e.what} refused (${e.code}): ${e.reason}`)
    else if (e.type === 'log' && e.level === 'warn') this.log?.(`${(this.now / 1000).toFixed(1)}s ${this.nodes[i].id}: ${e.msg} ${JSON.stringify(e.data ?? {})}`)
    else if (e.type === 'engineError') this.log?.(`${(this.now / 1000).toFixed(1)}s ${this.nodes[i].id}: engine error on ${e.event}: ${e.error.message}`)
  }

  /** Gossip from i reaches every other online member: its bytes are accounted once, as a broadcast. */
  private accountGossip (i: number, size: number): void {
    let receivers = 0
    for (let j = 0; j < this.nodes.length; j++) if (j !== i && this.nodes[j].online) receivers++
    this.net.accountBroadcast(i, size, receivers)
  }

  /**
   * An event for the online members `targets` (those that act on a gossip message), at its modelled
   * arrival. `warm`: compute the path from the receiver's tree (a candidate's, reused all round).
   */
  private deliver (i: number, targets: number[], size: number, ev: (d: RoundDriver) => void, warm: boolean): void {
    for (const j of targets) {
      if (j === i || !this.nodes[j].online) continue
      if (warm) this.net.topology.path(i, j)
      const at = this.net.messageArrival(this.now, i, j, size)
      if (at != null) this.call(at, j, () => ev(this.nodes[j].driver))
    }
  }

  /**
   * Shortest-path trees are cached per root; a path is served from either end's tree and else
   * computed from the receiver. A broadcast from i to everyone should reuse i's tree: build it first.
   */
  private warmTree (i: number): void {
    if (this.nodes.length > 1) this.net.topology.path(i === 0 ? 1 : 0, i)
  }

  private fetch (i: number, id: string, providers: readonly string[], done: (r: { ok: true, bytes: Uint8Array } | { ok: false, reason: string }) => void): void {
    for (const p of providers) {
      const j = this.index(p)
      const src = this.nodes[j]
      if (src == null || !src.online || j === i) continue
      const blob = src.blobs.get(id)
      if (blob == null) continue
      const at = this.net.transferArrival(this.now, j, i, blob.bytes.length)
      if (at == null) continue
      const bytes = blob.bytes
      this.call(at, i, () => done({ ok: true, bytes }))
      return
    }
    this.call(this.now + FETCH_TIMEOUT_MS, i, () => done({ ok: false, reason: 'no reachable provider' }))
  }

  private onApplied (i: number, commit: Commit): Promise<void> | undefined {
    const n = this.nodes[i]
    n.appliedRound = commit.round
    n.recent.set(commit.round, this.faults.tamperCommit?.(commit) ?? commit)
    n.recent.delete(commit.round - RECENT_COMMITS)
    if (!this.byModel.has(commit.newModelId)) this.byModel.set(commit.newModelId, commit)
    // blobs older than the previous round are no longer needed by anyone
    for (const [id, b] of n.blobs) if (b.round < commit.round - 1) n.blobs.delete(id)
    if (this.recording.has(commit.round)) return
    this.recording.add(commit.round)
    const evalNow = commit.round % this.cfg.evalEvery === this.cfg.evalEvery - 1 || commit.round === this.cfg.rounds - 1
    if (!evalNow) { this.record(n, commit, undefined); return }
    return this.backend.evaluate(n.driver.state.params).then(ev => this.record(n, commit, ev))
  }

  private record (n: SimNode, commit: Commit, ev: { loss: number, accuracy?: number, bitsPerByte?: number } | undefined): void {
    const rec: RoundRecord = {
      round: commit.round,
      aggregator: commit.aggregator,
      rank: commit.rank,
      included: commit.included.length,
      groups: commit.subAggregates?.length ?? 0,
      loss: ev?.loss ?? null,
      accuracy: ev?.accuracy ?? null,
      bitsPerByte: ev?.bitsPerByte ?? null,
      bytes: this.net.stats.bytesTotal,
      time: this.now / 1000
    }
    this.records.set(commit.round, rec)
    this.log?.(`round ${commit.round}: aggregator ${commit.aggregator} (rank ${commit.rank}), ${rec.included} updates` + (rec.groups > 0 ? ` in ${rec.groups} groups` : '') +
      (rec.accuracy != null ? `, loss ${rec.loss!.toFixed(4)}, ${rec.bitsPerByte != null ? `${rec.bitsPerByte.toFixed(3)} bits/byte` : `accuracy ${(100 * rec.accuracy).toFixed(2)}%`}` : '') +
      `, ${(rec.bytes / 1e6).toFixed(2)} MB, t=${rec.time.toFixed(1)}s`)
    const late = this.faults.late
    if (late != null && late.afterRound === commit.round) this.push(this.now, { kind: 'join', node: late.node })
    const next = commit.round + 1
    if (this.crashRounds.has(next)) this.scheduleCrash(n.driver.engine.candidates[0])
  }

  /**
   * The elected aggregator of the next round dies mid-round, while members are still training
   * (before it could close the round), and comes back two deadlines later.
   */
  private scheduleCrash (peerId: string | undefined): void {
    if (peerId == null) return
    const j = this.index(peerId)
    const at = this.now + this.cfg.innerSteps * this.cfg.stepMs * 0.5
    this.push(at, { kind: 'leave', node: j })
    this.crashRejoin.add(j)
  }

  private readonly crashRejoin = new Set<number>()

  private scheduleLeave (i: number): void {
    const ratePerMs = this.cfg.leavePerHour / 3_600_000
    this.push(this.now + this.expo(ratePerMs), { kind: 'leave', node: i })
  }

  private expo (ratePerMs: number): number {
    return -Math.log(1 - this.rng.next()) / ratePerMs
  }

  private leave (i: number, rejoin: boolean): void {
    const n = this.nodes[i]
    if (!n.online) return
    n.online = false
    n.life++
    this.net.setOnline(i, false)
    this.log?.(`${(this.now / 1000).toFixed(1)}s ${n.id} left`)
    // its presence stops; peers notice after the liveness window
    this.push(this.now + LIVENESS_MS, { kind: 'live' })
    if (!rejoin) return
    const crash = this.crashRejoin.delete(i)
    const downMs = crash ? this.cfg.deadlineMs * 2 : this.cfg.joinPerHour > 0 ? this.expo(this.cfg.joinPerHour / 3_600_000) : Infinity
    if (Number.isFinite(downMs)) this.push(this.now + downMs, { kind: 'join', node: i })
  }

  /**
   * A node comes back on the network with the state and round work it had (its process kept
   * running): it first asks peers whether the run moved on, and checks their chain before
   * adopting their state.
   */
  private join (i: number): void {
    const n = this.nodes[i]
    if (n.online) return
    n.online = true
    n.life++
    this.net.setOnline(i, true)
    this.log?.(`${(this.now / 1000).toFixed(1)}s ${n.id} rejoined`)
    n.driver.reconnected()
    this.call(this.now, i, () => n.driver.start({ catchUp: true }))
    // its presence reaches the others within a presence period
    this.push(this.now + LIVENESS_MS / 3, { kind: 'live' })
    if (this.cfg.leavePerHour > 0) this.scheduleLeave(i)
  }

  /** Presence as the online members see it: who is alive and at most two rounds behind the front. */
  private broadcastLive (): void {
    let front = 0
    for (const n of this.nodes) if (n.online) front = Math.max(front, n.driver.round)
    const live = this.nodes.filter(n => n.online && n.driver.round >= front - 2).map(n => n.id)
    for (let j = 0; j < this.nodes.length; j++) if (this.nodes[j].online) this.call(this.now, j, () => this.nodes[j].driver.setLive(live))
  }

  /** Model sync: the most advanced live peer offers its chain from `fromRound` and its state. */
  /** The commits from round `from` on that lead to `modelId`, oldest first. */
  private chainOf (modelId: string, from: number): Commit[] {
    const out: Commit[] = []
    for (let c = this.byModel.get(modelId); c != null && c.round >= from; c = this.byModel.get(c.prevModelId)) out.push(c)
    return out.reverse()
  }

  private offerSync (i: number, fromRound: number, done: (offer: SyncOffer | null, failure?: string) => void, asked?: string): void {
    let best = -1
    const a = asked != null ? this.index(asked) : -1
    if (a >= 0 && a < this.nodes.length && a !== i && this.nodes[a].online) best = a // a peer on another branch (fork choice)
    else {
      for (let j = 0; j < this.nodes.length; j++) {
        if (j === i || !this.nodes[j].online) continue
        if (best < 0 || this.nodes[j].driver.round > this.nodes[best].driver.round) best = j
      }
    }
    if (best < 0 || this.nodes[best].driver.round <= fromRound) {
      this.call(this.now, i, () => done(null)) // nobody is ahead: carry on from what this node has
      return
    }
    const st = this.nodes[best].driver.state
    const commits: ChainCommit[] = this.chainOf(st.modelId, fromRound).map(commit => ({ commit }))
    let bytes = st.params.byteLength * (st.outer.velocity != null ? 2 : 1)
    for (const c of commits) bytes += wireSize(c.commit)
    const at = this.net.transferArrival(this.now, best, i, bytes)
    if (at == null) { this.call(this.now + FETCH_TIMEOUT_MS, i, () => done(null, 'no reachable peer ahead')); return }
    const offer: SyncOffer = { from: this.nodes[best].id, commits, state: st }
    this.call(at, i, () => done(offer))
  }
}
