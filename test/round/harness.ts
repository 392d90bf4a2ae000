// The in-memory RoundTransport: RoundDrivers on a virtual clock with instant-ish delivery and
// scripted faults. The third implementation next to libp2p (daemon) and the modelled network (sim).
import { createHash } from 'node:crypto'
import { createLayout, Rng, type ParamLayout } from '../../src/tensor/index.js'
import {
  createRoundConfig, modelBytes, RoundDriver, type ChainState, type Commit, type DriverEvent, type RoundConfig,
  type RoundEngine, type RoundTransport, type SubAggregate, type ChainCommit, type Announce, type RoundDeps
} from '../../src/round/index.js'

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
  /** gossip loses the commits of `round` on their way to `peer` */
  dropCommit?: { peer: string, round: number }
  seed?: number
  /** announces a misbehaving peer forges when one is published (stolen ids, replays): delivered ahead of the original */
  forge?: (msg: Announce) => Announce[]
  /** announces that never reach a peer (a censor that does not listen) */
  dropAnnounce?: (to: string, msg: Announce) => boolean
  /** multiply a peer's trained step (a ×10 attacker) */
  scale?: { peer: string, factor: number }
  /** a network partition: from virtual time `from` (default 0) until `until`, nothing passes between `peer` and the others */
  isolate?: { peer: string, until: number, from?: number }
  /** rewrite the state `from` offers `to` when asked for its chain from `fromRound` (a peer whose state trails its chain while it persists) */
  offeredState?: (from: string, to: string, state: ChainState, fromRound: number) => ChainState
  /** equivocation proofs every node holds (RoundDeps.equivocations): its next commit carries them */
  equivocations?: RoundDeps['equivocations']
  /** the roster every engine checks weight claims against (RoundDeps.limits) */
  limits?: RoundDeps['limits']
  /** ms a blob fetch by `peer` takes (a slow downlink); default the message latency */
  fetchMs?: (peer: string) => number | undefined
  /** a fetch of `id` by `peer` fails (after the fetch time) */
  failFetch?: (peer: string, id: string) => boolean
  /** what a fetch of `id` by `peer` delivers instead of the stored bytes, and whether the transport says it checked them */
  deliver?: (peer: string, id: string, bytes: Uint8Array) => { bytes: Uint8Array, checked?: boolean }
}

interface Item { t: number, seq: number, peer: string, fn: () => void }

export class Harness {
  readonly layout: ParamLayout
  readonly cfg: RoundConfig
  readonly drivers = new Map<string, RoundDriver>()
  readonly engines = new Map<string, RoundEngine>()
  readonly blobs = new Map<string, Map<string, Uint8Array>>()
  readonly commits: Array<{ at: number, commit: Commit }> = []
  readonly subAggregates: SubAggregate[] = []
  readonly applied = new Map<string, Array<{ round: number, modelId: string, verified: string }>>()
  /** every driver event, by peer */
  readonly events: Array<{ peer: string, e: DriverEvent }> = []
  /** commits each peer applied, in order: what it offers to peers that sync or pull */
  private readonly chains = new Map<string, Commit[]>()
  private queue: Item[] = []
  private seq = 0
  now = 0
  readonly genesis: ChainState
  readonly killed = new Set<string>()
  /** how many bytes each peer's engine hashed with RoundDeps.digest */
  readonly hashed = new Map<string, number>()

  constructor (readonly o: HarnessOptions) {
    this.layout = createLayout([{ name: 'w', shape: [o.params ?? 64] }])
    this.cfg = createRoundConfig({ runId: 'test-run', innerSteps: 1, codec: 'fp32', deadlineMs: 1000, collectMs: 500, backupStepMs: 500, ...o.config })
    const theta0 = new Float32Array(this.layout.total).map((_, i) => Math.sin(i))
    const peers = Array.from({ length: o.nodes }, (_, i) => `peer-${i}`)
    this.genesis = {
      round: 0, modelId: digest(modelBytes(theta0)), params: theta0, outer: { step: 0, velocity: null },
      electorate: peers.map(p => ({ peerId: p, capacity: 1 }))
    }
    for (const p of peers) this.addNode(p)
  }

  /** A node with the run's genesis; a late joiner is added after others ran and started with catchUp. */
  addNode (peer = `peer-${this.drivers.size}`): string {
    const driver = new RoundDriver({
      cfg: this.cfg,
      layout: this.layout,
      deps: { self: peer, digest: b => { this.hashed.set(peer, (this.hashed.get(peer) ?? 0) + b.length); return digest(b) }, limits: this.o.limits, equivocations: this.o.equivocations },
      restore: { chain: this.genesis, codec: {} },
      ownChain: from => this.chains.get(peer)!.filter(c => c.round >= from),
      genesisElectorate: this.genesis.electorate,
      hooks: {
        adopted: (commits, _state, fork) => {
          if (fork == null) return
          // fork choice: this peer's chain is now the other branch's from the fork on
          const chain = this.chains.get(peer)!
          chain.splice(0, chain.length, ...chain.filter(c => c.round < fork.round), ...commits.map(c => c.commit))
        }
      }
    }, this.transport(peer))
    this.drivers.set(peer, driver)
    this.engines.set(peer, driver.engine)
    this.blobs.set(peer, new Map())
    this.applied.set(peer, [])
    this.chains.set(peer, [])
    driver.on(e => {
      this.events.push({ peer, e })
      if (e.type === 'applied') {
        this.applied.get(peer)!.push({ round: e.commit.round, modelId: e.state.modelId, verified: e.verified })
        this.chains.get(peer)!.push(e.commit)
      }
    })
    return peer
  }

  get peers (): string[] { return [...this.drivers.keys()] }
  alive (p: string): boolean { return !(this.o.dead?.has(p) ?? false) && !this.killed.has(p) }

  /** Driver events of one kind (all peers, or one). */
  eventsOf<T extends DriverEvent['type']> (type: T, peer?: string): Array<Extract<DriverEvent, { type: T }>> {
    return this.events.filter(x => x.e.type === type && (peer == null || x.peer === peer)).map(x => x.e as Extract<DriverEvent, { type: T }>)
  }

  /** Log lines (engine logs and refusals) as text, for tests that look at what a node said. */
  get logs (): Array<{ peer: string, level: string, msg: string, data?: Record<string, unknown>, code?: string }> {
    return this.events.flatMap(({ peer, e }): Array<{ peer: string, level: string, msg: string, data?: Record<string, unknown>, code?: string }> => e.type === 'log'
      ? [{ peer, level: e.level, msg: e.msg, data: e.data }]
      : e.type === 'refused' ? [{ peer, level: e.severity === 'reject' ? 'warn' : 'debug', msg: `${e.what} refused: ${e.reason}`, code: e.code }] : [])
  }

  private schedule (t: number, peer: string, fn: () => void): void {
    this.queue.push({ t, seq: this.seq++, peer, fn })
  }

  startAll (): void {
    for (const p of this.peers) this.start(p)
  }

  start (peer: string, catchUp = false): void {
    this.schedule(this.now, peer, () => this.drivers.get(peer)!.start({ catchUp }))
  }

  /** Runs until `untilRound` is applied by every live peer or time runs out. */
  run (untilRound: number, maxTime = 60_000): void {
    this.runUntil(() => this.peers.filter(p => this.alive(p)).every(p => this.engines.get(p)!.round > untilRound), maxTime)
  }

  /** Runs until `done()` holds or virtual time passes `maxTime`; returns whether it holds. */
  runUntil (done: () => boolean, maxTime = 60_000): boolean {
    while (this.queue.length > 0) {
      this.queue.sort((a, b) => a.t - b.t || a.seq - b.seq)
      const next = this.queue.shift()!
      if (next.t > maxTime) break
      this.now = Math.max(this.now, next.t)
      if (!this.alive(next.peer)) continue
      next.fn()
      if (done()) return true
    }
    return done()
  }

  /** The commits a peer serves to others: its chain, as a liar (tamper) would serve it too. */
  private served (peer: string): Commit[] {
    const chain = this.chains.get(peer)!
    return this.o.tamper != null ? chain.map(this.o.tamper) : chain
  }

  /** Whether the partition (isolate) separates `a` and `b` now. */
  cut (a: string, b: string): boolean {
    const i = this.o.isolate
    return i != null && this.now >= (i.from ?? 0) && this.now < i.until && (a === i.peer) !== (b === i.peer)
  }

  private transport (peer: string): RoundTransport {
    const lat = (): number => this.o.latency ?? 1
    const toOthers = (fn: (p: string, i: number) => void, order?: number): void => {
      const targets = this.peers.filter(p => p !== peer && !this.cut(peer, p))
      if (order != null) new Rng(order).shuffle(targets)
      targets.forEach(fn)
    }
    return {
      now: () => this.now,
      at: (t, fn) => this.schedule(Math.max(t, this.now), peer, fn),
      publish: out => {
        switch (out.type) {
          case 'announce': {
            for (const forged of this.o.forge?.(out.msg) ?? []) {
              for (const p of this.peers.filter(p => p !== forged.peerId)) this.schedule(this.now, p, () => this.drivers.get(p)!.receive({ type: 'announce', msg: forged }))
            }
            const shuffled = this.o.shuffleSeed != null
            toOthers((p, i) => this.o.dropAnnounce?.(p, out.msg) === true ? undefined : this.schedule(this.now + lat() + (shuffled ? i : 0), p, () => this.drivers.get(p)!.receive({ type: 'announce', msg: out.msg })),
              shuffled ? this.o.shuffleSeed! + out.msg.round : undefined)
            return
          }
          case 'subAggregate': {
            const msg = this.o.tamperSub != null ? this.o.tamperSub(out.msg) : out.msg
            this.subAggregates.push(msg)
            toOthers(p => this.schedule(this.now + lat(), p, () => this.drivers.get(p)!.receive({ type: 'subAggregate', msg })))
            return
          }
          case 'commit': {
            const c = this.o.tamper != null ? this.o.tamper(out.msg) : out.msg
            this.commits.push({ at: this.now, commit: c })
            toOthers(p => {
              const d = this.o.dropCommit
              if (d != null && d.peer === p && d.round === c.round) return // lost in gossip
              this.schedule(this.now + lat(), p, () => this.drivers.get(p)!.receive({ type: 'commit', msg: c }))
            })
            if (c.round === this.o.killAuthorOfRound) this.killed.add(peer)
          }
        }
      },
      putBlob: (id, bytes) => { this.blobs.get(peer)!.set(id, bytes) },
      fetchBlob: (id, providers, _kind, done) => {
        if (this.o.failFetch?.(peer, id) === true) { this.schedule(this.now + (this.o.fetchMs?.(peer) ?? lat()), peer, () => done({ ok: false, reason: 'test: refused' })); return }
        const from = providers.find(p => this.alive(p) && !this.cut(peer, p) && this.blobs.get(p)?.has(id) === true)
        if (from != null) {
          const stored = this.blobs.get(from)!.get(id)!
          const got = this.o.deliver?.(peer, id, stored) ?? { bytes: stored }
          this.schedule(this.now + (this.o.fetchMs?.(peer) ?? lat()), peer, () => done({ ok: true, ...got }))
        } else this.schedule(this.now + 50, peer, () => done({ ok: false, reason: 'no provider' }))
      },
      train: (round, params, _steps, done) => {
        const rng = new Rng(`${peer}/${round}`)
        const step = this.o.scale?.peer === peer ? 0.01 * this.o.scale.factor : 0.01
        const p = params.map(v => v - step * rng.normal())
        this.schedule(this.now + 10, peer, () => done({ params: p, samples: 10 + Number(peer.split('-')[1]) }))
      },
      sync: (fromRound, done, asked) => {
        const best = asked != null && this.alive(asked) && !this.cut(peer, asked)
          ? asked
          : this.peers.filter(p => p !== peer && this.alive(p) && !this.cut(peer, p)).sort((a, b) => this.engines.get(b)!.round - this.engines.get(a)!.round)[0]
        if (best == null || this.engines.get(best)!.round <= fromRound) { this.schedule(this.now + lat(), peer, () => done(null)); return }
        const commits: ChainCommit[] = this.served(best).filter(c => c.round >= fromRound).map(commit => ({ commit }))
        const own = this.engines.get(best)!.state
        const state = this.o.offeredState?.(best, peer, own, fromRound) ?? own
        this.schedule(this.now + lat(), peer, () => done({ from: best, commits, state }))
      },
      pullCommit: (from, round, done) => {
        const commits = this.alive(from) && !this.cut(peer, from) ? this.served(from).filter(c => c.round === round).map(commit => ({ commit })) : []
        this.schedule(this.now + lat(), peer, () => done(commits))
      }
    }
  }
}
