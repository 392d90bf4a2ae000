// A minimal in-memory driver for RoundEngine tests: instant-ish delivery, scripted faults.
import { createHash } from 'node:crypto'
import { createLayout, Rng, type ParamLayout } from '../../src/tensor/index.js'
import { createRoundConfig, modelBytes, RoundEngine, type ChainState, type Commit, type RoundAction, type RoundConfig, type RoundEvent, type SubAggregate } from '../../src/round/index.js'

export const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

export interface HarnessOptions {
  nodes: number
  params?: number
  config?: Partial<RoundConfig>
  /** peers that never act (crashed before the round) */
  dead?: Set<string>
  /** rewrite a commit before it is published (to test rejection) */
  tamper?: (c: Commit) => Commit
  /** latency of every message in ms */
  latency?: number
  /** rewrite a group fold before it is published */
  tamperSub?: (s: SubAggregate) => SubAggregate
  /** the author of the commit for this round dies right after publishing it (before serving anything) */
  killAuthorOfRound?: number
  /** reverse delivery order of announces (arrival-order independence) */
  shuffleSeed?: number
  seed?: number
}

export class Harness {
  readonly layout: ParamLayout
  readonly cfg: RoundConfig
  readonly engines = new Map<string, RoundEngine>()
  readonly blobs = new Map<string, Map<string, Uint8Array>>()
  readonly commits: Array<{ at: number, commit: Commit }> = []
  readonly subAggregates: SubAggregate[] = []
  readonly applied = new Map<string, Array<{ round: number, modelId: string, verified: string }>>()
  readonly logs: Array<{ peer: string, level: string, msg: string, data?: Record<string, unknown> }> = []
  private queue: Array<{ t: number, seq: number, peer: string, ev: RoundEvent }> = []
  private seq = 0
  now = 0
  private readonly rng: Rng

  constructor (readonly o: HarnessOptions) {
    this.layout = createLayout([{ name: 'w', shape: [o.params ?? 64] }])
    this.cfg = createRoundConfig({ runId: 'test-run', innerSteps: 1, codec: 'fp32', deadlineMs: 1000, collectMs: 500, backupStepMs: 500, ...o.config })
    this.rng = new Rng(o.seed ?? 1)
    const theta0 = new Float32Array(this.layout.total).map((_, i) => Math.sin(i))
    const peers = Array.from({ length: o.nodes }, (_, i) => `peer-${i}`)
    const genesis: ChainState = {
      round: 0, modelId: digest(modelBytes(theta0)), params: theta0, outer: { step: 0, velocity: null },
      electorate: peers.map(p => ({ peerId: p, capacity: 1 }))
    }
    for (const p of peers) {
      this.engines.set(p, new RoundEngine(this.cfg, this.layout, { self: p, digest }, { chain: genesis, codec: {} }))
      this.blobs.set(p, new Map())
      this.applied.set(p, [])
    }
  }

  get peers (): string[] { return [...this.engines.keys()] }
  readonly killed = new Set<string>()
  alive (p: string): boolean { return !(this.o.dead?.has(p) ?? false) && !this.killed.has(p) }

  push (t: number, peer: string, ev: RoundEvent): void {
    this.queue.push({ t, seq: this.seq++, peer, ev })
  }

  startAll (): void {
    for (const p of this.peers) this.push(0, p, { type: 'start' })
  }

  /** Runs until `untilRound` is applied by every live peer or time runs out. */
  run (untilRound: number, maxTime = 60_000): void {
    const lat = this.o.latency ?? 1
    while (this.queue.length > 0) {
      this.queue.sort((a, b) => a.t - b.t || a.seq - b.seq)
      const { t, peer, ev } = this.queue.shift()!
      if (t > maxTime) break
      this.now = t
      if (!this.alive(peer)) continue
      const actions = this.engines.get(peer)!.handle(t, ev)
      this.perform(peer, actions, lat)
      if (this.peers.filter(p => this.alive(p)).every(p => this.engines.get(p)!.round > untilRound)) break
    }
  }

  private perform (peer: string, actions: RoundAction[], lat: number): void {
    for (const a of actions) {
      switch (a.type) {
        case 'train': {
          const rng = new Rng(`${peer}/${a.round}`)
          const p = a.params.map(v => v - 0.01 * rng.normal())
          this.push(this.now + 10, peer, { type: 'trained', round: a.round, params: p, samples: 10 + this.peers.indexOf(peer) })
          break
        }
        case 'putBlob': this.blobs.get(peer)!.set(a.id, a.bytes); break
        case 'publishAnnounce': {
          const targets = this.peers.filter(p => p !== peer)
          if (this.o.shuffleSeed != null) new Rng(this.o.shuffleSeed + a.msg.round).shuffle(targets)
          targets.forEach((p, i) => this.push(this.now + lat + (this.o.shuffleSeed != null ? i : 0), p, { type: 'announce', msg: a.msg }))
          break
        }
        case 'publishSubAggregate': {
          const msg = this.o.tamperSub != null ? this.o.tamperSub(a.msg) : a.msg
          for (const p of this.peers) if (p !== peer) this.push(this.now + lat, p, { type: 'subAggregate', msg })
          this.subAggregates.push(msg)
          break
        }
        case 'publishCommit': {
          const c = this.o.tamper != null ? this.o.tamper(a.msg) : a.msg
          this.commits.push({ at: this.now, commit: c })
          for (const p of this.peers) if (p !== peer) this.push(this.now + lat, p, { type: 'commit', msg: c })
          if (c.round === this.o.killAuthorOfRound) this.killed.add(peer)
          break
        }
        case 'fetch': {
          const from = a.providers.find(p => this.alive(p) && this.blobs.get(p)!.has(a.id))
          if (from != null) this.push(this.now + lat, peer, { type: 'blob', id: a.id, bytes: this.blobs.get(from)!.get(a.id)! })
          else this.push(this.now + 50, peer, { type: 'blobFailed', id: a.id, reason: 'no provider' })
          break
        }
        case 'applied': this.applied.get(peer)!.push({ round: a.commit.round, modelId: a.state.modelId, verified: a.verified }); break
        case 'wake': this.push(a.at, peer, { type: 'tick' }); break
        case 'log': this.logs.push({ peer, level: a.level, msg: a.msg, data: a.data }); break
        case 'behind': break
      }
    }
  }
}
