// The discrete-event simulator: many RoundEngines (the daemon's own round code) on a virtual
// clock, linked by a modelled network, with stragglers, churn and injected aggregator crashes.
import { createHash } from 'node:crypto'
import { Rng } from '../tensor/index.js'
import { rankMembers } from '../election/index.js'
import { toRoundConfig, modelBytes, RoundEngine, type RoundAction, type RoundEvent, type Member, type ChainState, type RoundConfig, type Commit } from '../round/index.js'
import { EventQueue } from './queue.js'
import { buildTopology } from './topology.js'
import { NetworkModel } from './network.js'
import type { SimConfig } from './config.js'
import type { TrainingBackend } from './backend.js'

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
  /** cumulative bytes on the wire when the commit was first applied */
  bytes: number
  /** virtual seconds since the start */
  time: number
}

export interface SimResult {
  rounds: RoundRecord[]
  final: { loss: number | null, accuracy: number | null }
  bytesTotal: number
  virtualSeconds: number
  wallSeconds: number
  events: number
  nodeRounds: number
  completedRounds: number
}

type SimEvent =
  | { kind: 'node', node: number, life: number, ev: RoundEvent }
  /** local training whose result is computed by the worker while the simulation goes on */
  | { kind: 'trained', node: number, life: number, round: number, result: Promise<{ params: Float32Array, samples: number }> }
  | { kind: 'leave', node: number }
  | { kind: 'join', node: number }
  | { kind: 'synced', node: number, life: number, from: number }

interface SimNode {
  id: string
  online: boolean
  /** incremented on every departure, so events meant for an earlier life are dropped */
  life: number
  engine: RoundEngine
  blobs: Map<string, { bytes: Uint8Array, round: number }>
  speed: number
  appliedRound: number
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
  private readonly crashRounds: Set<number>
  private readonly rankMemo = new Map<string, string[]>()
  private events = 0
  private nodeRounds = 0
  private now = 0

  constructor (private readonly cfg: SimConfig, private readonly backend: TrainingBackend, private readonly log?: (msg: string) => void) {
    this.rng = new Rng(cfg.seed).fork('sim')
    // hierarchical rounds talk to every group's candidates: keep all their path trees (memory permitting)
    const candidates = (cfg.mode === 'hierarchical' ? Math.ceil(cfg.nodes / cfg.groupSize) + 1 : 1) * (cfg.backups + 1)
    const topo = buildTopology(cfg.topology, cfg.nodes, cfg.link, this.rng.fork('topology'), { cacheTrees: Math.max(64, 2 * candidates) })
    this.net = new NetworkModel(topo, this.rng.fork('network'))
    this.crashRounds = new Set(cfg.crashRounds)
    this.roundCfg = toRoundConfig(cfg, { runId: `sim-${cfg.seed}`, members: cfg.nodes })
    const theta0 = backend.initialParams()
    const electorate: Member[] = Array.from({ length: cfg.nodes }, (_, i) => ({ peerId: peerName(i), capacity: 1 }))
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
      const engine = new RoundEngine(this.roundCfg, backend.layout, { self: id, digest: sha256Hex, rank: this.memoRank }, { chain: genesis, codec: {} })
      const speed = Math.exp(cfg.stragglerSigma * speedRng.normal())
      this.nodes.push({ id, online: true, life: 0, engine, blobs: new Map(), speed, appliedRound: -1 })
    }
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

  private toNode (time: number, node: number, ev: RoundEvent): void {
    this.push(time, { kind: 'node', node, life: this.nodes[node].life, ev })
  }

  async run (): Promise<SimResult> {
    const wall0 = performance.now()
    const startRng = this.rng.fork('start')
    for (let i = 0; i < this.nodes.length; i++) this.toNode(startRng.next() * 10, i, { type: 'start' })
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
      final: { loss: lastEval?.loss ?? null, accuracy: lastEval?.accuracy ?? null },
      bytesTotal: this.net.stats.bytesTotal,
      virtualSeconds: this.now / 1000,
      wallSeconds: (performance.now() - wall0) / 1000,
      events: this.events,
      nodeRounds: this.nodeRounds,
      completedRounds: rounds.length
    }
  }

  private done (): boolean {
    const last = this.cfg.rounds - 1
    if (!this.records.has(last)) return false
    return this.nodes.every(n => !n.online || n.appliedRound >= last)
  }

  private async dispatch (e: SimEvent): Promise<void> {
    switch (e.kind) {
      case 'node': {
        const n = this.nodes[e.node]
        if (!n.online || n.life !== e.life) return
        const actions = n.engine.handle(this.now, e.ev)
        await this.perform(e.node, actions)
        return
      }
      case 'trained': {
        const r = await e.result
        const n = this.nodes[e.node]
        if (!n.online || n.life !== e.life) return
        await this.perform(e.node, n.engine.handle(this.now, { type: 'trained', round: e.round, params: r.params, samples: r.samples }))
        return
      }
      case 'leave': return this.leave(e.node, true)
      case 'join': return this.join(e.node)
      case 'synced': {
        const n = this.nodes[e.node]
        if (!n.online || n.life !== e.life) return
        const src = this.nodes[e.from].engine.state
        await this.perform(e.node, n.engine.handle(this.now, { type: 'synced', state: src }))
      }
    }
  }

  private async perform (i: number, actions: RoundAction[]): Promise<void> {
    const n = this.nodes[i]
    for (const a of actions) {
      switch (a.type) {
        case 'train': {
          if (this.cfg.rounds <= a.round) break // the run is over for this node
          // not awaited: the worker trains while other nodes' events are handled; the result is
          // only needed when its (virtual) time comes, so runs stay reproducible
          const result = this.backend.train(i, a.round, a.params, a.steps)
          result.catch(() => {})
          const computeMs = a.steps * this.cfg.stepMs * n.speed
          this.push(this.now + computeMs, { kind: 'trained', node: i, life: n.life, round: a.round, result })
          this.nodeRounds++
          break
        }
        case 'putBlob':
          n.blobs.set(a.id, { bytes: a.bytes, round: n.engine.round })
          break
        case 'publishAnnounce': {
          const size = wireSize(a.msg)
          this.accountGossip(i, size)
          // every member receives the gossip (bytes above); in aggregator and hierarchical modes only
          // the round's (group's) candidates act on it, so only they get an event (the announcer
          // knows them: it is on that round)
          const gossip = this.cfg.mode === 'gossip'
          const targets = gossip ? this.nodes.map((_, j) => j) : n.engine.announceAudience().map(p => this.index(p))
          const wanting = targets.filter(j => this.nodes[j].engine.wantsAnnounce(a.msg.round, n.id))
          this.deliver(i, wanting, size, { type: 'announce', msg: a.msg }, !gossip)
          break
        }
        case 'publishSubAggregate': {
          // gossiped to everyone (bytes); the root candidates and the group's candidates act on it
          const size = wireSize(a.msg)
          this.accountGossip(i, size)
          this.deliver(i, n.engine.subAggregateAudience(a.msg.group).map(p => this.index(p)), size, { type: 'subAggregate', msg: a.msg }, true)
          break
        }
        case 'publishCommit': {
          const size = wireSize(a.msg)
          this.warmTree(i)
          this.deliver(i, this.nodes.map((_, j) => j), size, { type: 'commit', msg: a.msg }, false)
          this.accountGossip(i, size)
          break
        }
        case 'fetch':
          this.fetch(i, a.id, a.providers)
          break
        case 'applied':
          await this.onApplied(i, a.commit)
          break
        case 'behind':
          this.startSync(i)
          break
        case 'wake':
          this.toNode(Math.max(a.at, this.now), i, { type: 'tick' })
          break
        case 'log':
          if (a.level === 'warn') this.log?.(`${(this.now / 1000).toFixed(1)}s ${n.id}: ${a.msg} ${JSON.stringify(a.data ?? {})}`)
          break
      }
    }
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
  private deliver (i: number, targets: number[], size: number, ev: RoundEvent, warm: boolean): void {
    for (const j of targets) {
      if (j === i || !this.nodes[j].online) continue
      if (warm) this.net.topology.path(i, j)
      const at = this.net.messageArrival(this.now, i, j, size)
      if (at != null) this.toNode(at, j, ev)
    }
  }

  /**
   * Shortest-path trees are cached per root; a path is served from either end's tree and else
   * computed from the receiver. A broadcast from i to everyone should reuse i's tree: build it first.
   */
  private warmTree (i: number): void {
    if (this.nodes.length > 1) this.net.topology.path(i === 0 ? 1 : 0, i)
  }

  private fetch (i: number, id: string, providers: string[]): void {
    for (const p of providers) {
      const j = this.index(p)
      const src = this.nodes[j]
      if (src == null || !src.online || j === i) continue
      const blob = src.blobs.get(id)
      if (blob == null) continue
      const at = this.net.transferArrival(this.now, j, i, blob.bytes.length)
      if (at == null) continue
      this.toNode(at, i, { type: 'blob', id, bytes: blob.bytes })
      return
    }
    this.toNode(this.now + FETCH_TIMEOUT_MS, i, { type: 'blobFailed', id, reason: 'no reachable provider' })
  }

  private async onApplied (i: number, commit: Commit): Promise<void> {
    const n = this.nodes[i]
    n.appliedRound = commit.round
    // blobs older than the previous round are no longer needed by anyone
    for (const [id, b] of n.blobs) if (b.round < commit.round - 1) n.blobs.delete(id)
    if (this.records.has(commit.round)) return
    const evalNow = commit.round % this.cfg.evalEvery === this.cfg.evalEvery - 1 || commit.round === this.cfg.rounds - 1
    const ev = evalNow ? await this.backend.evaluate(n.engine.state.params) : undefined
    const rec: RoundRecord = {
      round: commit.round,
      aggregator: commit.aggregator,
      rank: commit.rank,
      included: commit.included.length,
      groups: commit.subAggregates?.length ?? 0,
      loss: ev?.loss ?? null,
      accuracy: ev?.accuracy ?? null,
      bytes: this.net.stats.bytesTotal,
      time: this.now / 1000
    }
    this.records.set(commit.round, rec)
    this.log?.(`round ${commit.round}: aggregator ${commit.aggregator} (rank ${commit.rank}), ${rec.included} updates` + (rec.groups > 0 ? ` in ${rec.groups} groups` : '') +
      (rec.accuracy != null ? `, loss ${rec.loss!.toFixed(4)}, accuracy ${(100 * rec.accuracy).toFixed(2)}%` : '') +
      `, ${(rec.bytes / 1e6).toFixed(2)} MB, t=${rec.time.toFixed(1)}s`)
    const next = commit.round + 1
    if (this.crashRounds.has(next)) this.scheduleCrash(n.engine.candidates[0])
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
    if (!rejoin) return
    const crash = this.crashRejoin.delete(i)
    const downMs = crash ? this.cfg.deadlineMs * 2 : this.cfg.joinPerHour > 0 ? this.expo(this.cfg.joinPerHour / 3_600_000) : Infinity
    if (Number.isFinite(downMs)) this.push(this.now + downMs, { kind: 'join', node: i })
  }

  private join (i: number): void {
    const n = this.nodes[i]
    if (n.online) return
    n.online = true
    n.life++
    this.net.setOnline(i, true)
    this.log?.(`${(this.now / 1000).toFixed(1)}s ${n.id} rejoined`)
    this.startSync(i)
    if (this.cfg.leavePerHour > 0) this.scheduleLeave(i)
  }

  /** Model sync: fetch the current model and outer state from the most advanced live peer. */
  private startSync (i: number): void {
    let best = -1
    for (let j = 0; j < this.nodes.length; j++) {
      if (j === i || !this.nodes[j].online) continue
      if (best < 0 || this.nodes[j].engine.round > this.nodes[best].engine.round) best = j
    }
    if (best < 0 || this.nodes[best].engine.round <= this.nodes[i].engine.round) {
      // nobody is ahead: carry on from what this node has
      this.toNode(this.now, i, { type: 'start' })
      return
    }
    const st = this.nodes[best].engine.state
    const bytes = st.params.byteLength * (st.outer.velocity != null ? 2 : 1)
    const at = this.net.transferArrival(this.now, best, i, bytes)
    if (at == null) return
    this.push(at, { kind: 'synced', node: i, life: this.nodes[i].life, from: best })
  }
}
