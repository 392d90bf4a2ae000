// The running node: drives the round engine (src/round, unchanged) over libp2p, trains with the
// local trainer, keeps every commit and the state it implies on disk, and serves the control API.
import type { Logger } from 'pino'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { FsDatastore } from 'datastore-fs'
import {
  createTapestryHost, serveBlobs, serveSync, subscribeAnnounce, subscribeCommit, subscribePresence, subscribeSubAggregate,
  publishAnnounce, publishPresence, publishSubAggregate, republish, fetchBlob, catchUp, requestChain, blobCid,
  type TapestryHost, type BlobServer
} from '../net/index.js'
import { encodeCommit } from '../net/gossip-codec.js'
import { checkChain, toRoundConfig, RoundEngine, modelBytes, type Announce, type RoundAction, type RoundEvent, type ChainState, type Commit, type EngineSnapshot, type Member, type BlobKind } from '../round/index.js'
import { BatchSampler, parsePartition, shard, type Dataset } from '../data/index.js'
import { initParams, type ModelSpec } from '../graph/index.js'
import { Trainer, DEFAULT_INNER_OPTIMIZER, loadData, modelSpec, encodeCheckpoint, decodeCheckpoint, fusedCount, trainFromSampler } from '../train/index.js'
import { Rng, layoutToString, hashString } from '../tensor/index.js'
import type { NodeConfig } from './config.js'
import { loadNodeConfig } from './config.js'
import { dataDirPaths, loadIdentity, readToken, writeControlInfo, clearControlInfo, type DataDirPaths } from './datadir.js'
import { DiskBlobStore } from './disk-blob-store.js'
import { ChainStore } from './chain-store.js'
import { ControlServer } from './control.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

export interface RoundHistory {
  round: number
  aggregator: string
  rank: number
  included: number
  modelId: string
  verified: string
  loss: number | null
  accuracy: number | null
  /** this node's bytes on the wire so far (gossip published + blobs fetched) */
  bytes: number
  /** what the same transfers would have cost as dense fp32 updates */
  bytesDense: number
  at: number
  /** when each step of this round happened on this node (absent in records from older daemons) */
  timing?: RoundTiming
}

/** One blob fetch this node made, attributed to the round it started in. */
export interface FetchTiming {
  kind: string
  /** bytes received (0 when it failed) */
  bytes: number
  startAt: number
  doneAt: number
  ok: boolean
}

/**
 * Milestones of one round on this node, in ms since the epoch (Date.now(), so comparable across
 * the processes of one machine), plus the work between them. Optional fields are those that did
 * not happen on this node (a node that did not train, did not commit, ...).
 */
export interface RoundTiming {
  /** the engine began the round (the handle() call that applied the previous commit, or start/sync) */
  startedAt?: number
  /** local training ran from trainStartAt (after the trainer's queue: the previous round's evaluation) to trainedAt */
  trainStartAt?: number
  trainedAt?: number
  /** engine time for the trained event: delta and update encoding (ms) */
  encodeMs?: number
  /** own announce handed to gossipsub */
  announcedAt?: number
  /** first and last announce of this round received from other peers */
  firstAnnounceAt?: number
  lastAnnounceAt?: number
  /** as the responsible candidate (aggregator or backup): the update set was closed */
  closedAt?: number
  /** as the committer: the signed commit handed to gossipsub */
  commitPublishedAt?: number
  /** as a member: the first commit for this round received */
  commitReceivedAt?: number
  /**
   * engine time of the step that produced the commit (ms): for the committer the fold, the
   * aggregate encoding, the outer step and the model hash; for a member the verification
   * (decode the aggregate, or re-fold every update, then the outer step and the hash)
   */
  computeMs?: number
  /** the engine applied the commit (verified) */
  appliedAt?: number
  /** the chain append, the state snapshot and the state blob are on disk */
  persistedAt?: number
  /** blob fetches started while this round ran */
  fetches: FetchTiming[]
  fetchedBytes: number
  /** sum of the fetch durations (fetches overlap, so this can exceed the wall time) */
  fetchMs: number
  /**
   * event-loop delay between this and the previous applied commit (ms, beyond the 10 ms sampling
   * period): how long ready work (gossip, blob streams, events) waited for this process's main thread
   */
  loopDelay?: { p50Ms: number, p99Ms: number, maxMs: number }
}

interface PeerInfo { peerId: string, round: number, lastSeen: number, latencyMs: number | null }

const PRESENCE_MS = 2_000
/** how long a peer may be one commit ahead before this node asks it for that commit */
const COMMIT_PULL_GRACE_MS = 300
/** when an announce is published again (after the first publish) while its round is open */
const ANNOUNCE_REPUBLISH_MS = [1_000, 3_000, 7_000]
const LOOP_DELAY_RESOLUTION_MS = 10
const STATE_KIND = 'tapestry-state'

/** Digest used for every content id: the CID string of the bytes (sha2-256, raw). */
const cidOf = (bytes: Uint8Array): string => blobCid(bytes).toString()

export class TapestryNode {
  private engine!: RoundEngine
  private host!: TapestryHost
  private trainer!: Trainer
  private blobServer!: BlobServer
  private control!: ControlServer
  private readonly stopFns: Array<() => unknown> = []
  private readonly timers = new Set<NodeJS.Timeout>()
  private chain: Promise<void> = Promise.resolve()
  private trainChain: Promise<unknown> = Promise.resolve()
  private stopping = false
  private stopped!: Promise<void>
  private resolveStopped!: () => void
  private readonly peers = new Map<string, PeerInfo>()
  private readonly commitBytes = new Map<string, Uint8Array>()
  private readonly history: RoundHistory[] = []
  /** per-round timings being gathered; moved into the history record when the round is applied */
  private readonly timings = new Map<number, RoundTiming>()
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  private modelRef: { round: number, cid: string } | undefined
  private innerState: Float32Array[] | undefined
  private sampler!: BatchSampler
  private test!: Dataset
  private shardSize = 0
  private gossipBytes = 0
  private fetchedBytes = 0
  private denseBytes = 0
  private syncing = false
  /** rounds whose commit is being pulled from a peer (see pullCommitLater) */
  private readonly pulling = new Set<number>()
  private model!: ModelSpec

  private constructor (
    readonly paths: DataDirPaths,
    readonly cfg: NodeConfig,
    private readonly log: Logger,
    private readonly blobs: DiskBlobStore,
    private readonly store: ChainStore
  ) {
    this.stopped = new Promise(resolve => { this.resolveStopped = resolve })
  }

  static async start (dataDir: string, log: Logger): Promise<TapestryNode> {
    const paths = dataDirPaths(dataDir)
    const cfg = await loadNodeConfig(paths.config)
    const key = await loadIdentity(paths)
    const token = await readToken(paths)
    const blobs = new DiskBlobStore(paths.blobs, { onWriteError: (cid, err) => { log.warn({ cid, err: String(err) }, 'blob file not written (still served from memory)') } })
    await blobs.open()
    const store = new ChainStore(paths.chain, paths.state)
    await store.open()
    const node = new TapestryNode(paths, cfg, log, blobs, store)
    await node.boot(key, token)
    return node
  }

  get peerId (): string { return this.host.peerId }
  get whenStopped (): Promise<void> { return this.stopped }

  private async boot (key: Awaited<ReturnType<typeof loadIdentity>>, token: string): Promise<void> {
    const cfg = this.cfg
    const { train, test } = loadData(cfg.data)
    this.test = test
    this.model = modelSpec(cfg.model, train)
    const rows = shard(train, cfg.shards, parsePartition(cfg.partition), cfg.seed)[cfg.shard]
    this.shardSize = rows.length
    this.trainer = await Trainer.create({ model: this.model, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: fusedCount(cfg.innerSteps), device: cfg.device, threads: cfg.threads, seed: cfg.seed })
    this.log.info({ device: this.trainer.device, reason: this.trainer.deviceReason }, `execution provider: ${this.trainer.device}`)
    const layout = this.trainer.layout

    const datastore = new FsDatastore(this.paths.peerstore)
    await datastore.open()
    this.host = await createTapestryHost({ runId: cfg.runId, privateKey: key, listen: cfg.listen, bootstrap: cfg.bootstrap, mdns: cfg.mdns, datastore, log: this.log })
    // the sampler's seed differs per node (peer id) but is stable across restarts
    this.sampler = new BatchSampler(train, rows, cfg.batch, new Rng(`${cfg.seed}/${this.host.peerId}/batches/${lastCommittedRound(this.store)}`))

    const snapshot = await this.store.loadSnapshot(layout)
    const restored = snapshot ?? this.genesis()
    const roundCfg = toRoundConfig(cfg, { runId: cfg.runId, members: cfg.members.length })
    this.engine = new RoundEngine(roundCfg, layout, { self: this.host.peerId, digest: cidOf }, restored)
    if (snapshot != null) this.log.info({ round: snapshot.chain.round, model: snapshot.chain.modelId }, 'resumed from the last commit')
    await this.publishState(this.engine.state)

    this.blobServer = await serveBlobs(this.host, { store: this.blobs, log: this.log })
    const sync = await serveSync(this.host, {
      getChain: (from, limit) => this.store.all.filter(c => c.commit.round >= from).slice(0, limit).map(c => Buffer.from(c.signed, 'base64')),
      getModel: () => this.modelRef
    })
    this.stopFns.push(async () => await sync.stop(), async () => await this.blobServer.stop())

    this.stopFns.push(subscribeAnnounce(this.host, (msg, info) => {
      const p = this.heardFrom(info.from)
      p.round = Math.max(p.round, msg.round - 1)
      if (msg.peerId !== this.host.peerId) {
        const t = this.timing(msg.round)
        t.firstAnnounceAt ??= p.lastSeen
        t.lastAnnounceAt = p.lastSeen
        // an announce for the next round means its author applied this one: its commit may be lost to us
        if (msg.round === this.engine.round + 1) this.pullCommitLater(msg.peerId, this.engine.round)
      }
      this.enqueue({ type: 'announce', msg })
    }, {
      validate: m => m.runId === cfg.runId && m.round >= this.engine.round - 1 ? 'accept' : 'ignore'
    }))
    this.stopFns.push(subscribeCommit(this.host, (msg, info) => {
      this.commitBytes.set(commitKey(msg), info.bytes)
      this.timing(msg.round).commitReceivedAt ??= Date.now()
      this.enqueue({ type: 'commit', msg })
    }, { validate: m => m.runId === cfg.runId ? 'accept' : 'ignore' }))
    this.stopFns.push(subscribeSubAggregate(this.host, msg => {
      this.enqueue({ type: 'subAggregate', msg })
    }, { validate: m => m.runId === cfg.runId && m.round >= this.engine.round - 1 ? 'accept' : 'ignore' }))
    this.stopFns.push(subscribePresence(this.host, (msg, info) => {
      this.heardFrom(info.from).round = msg.round
      // a peer two rounds ahead means this node missed commits (late join, long crash): sync
      if (msg.round >= this.engine.round + 1) void this.catchUpIfBehind()
      // a peer that applied the round this node still works on: its commit may have been lost in gossip
      else if (msg.round === this.engine.round) this.pullCommitLater(info.from, msg.round)
      this.enqueue({ type: 'peers', live: this.livePeers() })
    }))

    this.control = new ControlServer(token, {
      status: () => this.status(),
      peers: () => this.peerTable(),
      rounds: () => ({ rounds: this.history }),
      model: () => this.modelInfo(),
      stop: () => { setImmediate(() => { void this.stop('control API') }); return { stopping: true } }
    })
    const port = await this.control.listen(cfg.controlPort)
    await writeControlInfo(this.paths, { port, pid: process.pid, peerId: this.host.peerId })

    this.loopDelay.enable()
    this.stopFns.push(() => this.loopDelay.disable())
    this.every(PRESENCE_MS, () => { void this.presence() })
    this.every(5_000, () => { void this.measureLatency() })
    this.log.info({ peerId: this.host.peerId, addrs: this.host.multiaddrs(), control: port, round: this.engine.round }, 'node started')

    // a late joiner (or a node back from a long crash) first asks peers whether the run moved on,
    // once one presence period has let it hear where they stand
    this.later(PRESENCE_MS + 500, () => {
      void this.catchUpIfBehind().finally(() => this.enqueue({ type: 'start' }))
    })
  }

  private genesis (): EngineSnapshot {
    const params = initParams(this.model, this.cfg.seed)
    const chain: ChainState = {
      round: 0,
      modelId: cidOf(modelBytes(params)),
      params,
      outer: { step: 0, velocity: null },
      electorate: this.cfg.members.map(peerId => ({ peerId, capacity: 1 }))
    }
    return { chain, codec: { seed: hashString(this.cfg.members.join(',') + this.cfg.runId) } }
  }

  /**
   * Copies of an announce while its round is still open: a peer whose subscription we did not
   * know at the first publish (it just started or synced) would otherwise never see it, since
   * gossipsub drops identical bytes as a duplicate (protocols/gossip.md, "Republishing").
   */
  private republishWhileOpen (msg: Announce): void {
    ANNOUNCE_REPUBLISH_MS.forEach((ms, i) => this.later(ms, () => {
      if (this.stopping || this.engine.round !== msg.round) return
      publishAnnounce(this.host, { ...msg, attempt: i + 1 })
        .then(r => { this.gossipBytes += r.bytes.length * r.recipients })
        .catch(err => { this.log.debug({ err }, 'announce not republished') })
    }))
  }

  private every (ms: number, fn: () => void): void {
    const t = setInterval(fn, ms)
    t.unref()
    this.timers.add(t)
  }

  private later (ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.timers.delete(t); fn() }, Math.max(0, ms))
    this.timers.add(t)
  }

  /** Engine events are handled one at a time, in arrival order. */
  private enqueue (ev: RoundEvent): void {
    if (this.stopping) return
    this.chain = this.chain.then(async () => {
      if (this.stopping) return
      let actions: RoundAction[]
      const now = Date.now()
      const t0 = performance.now()
      try {
        actions = this.engine.handle(now, ev)
      } catch (err) {
        this.log.error({ err, event: ev.type }, 'round engine refused an event')
        return
      }
      this.timeActions(now, performance.now() - t0, ev, actions)
      await this.perform(actions)
    }).catch(err => { this.log.error({ err }, 'action failed') })
  }

  /** Timing record of `round`, created on first use; rounds far behind are dropped (bounded memory). */
  private timing (round: number): RoundTiming {
    let t = this.timings.get(round)
    if (t == null) {
      t = { fetches: [], fetchedBytes: 0, fetchMs: 0 }
      this.timings.set(round, t)
      for (const r of this.timings.keys()) if (r < round - 4) this.timings.delete(r)
    }
    return t
  }

  /** Attributes the engine's own time to the round step it did (instrumentation only). */
  private timeActions (now: number, ms: number, ev: RoundEvent, actions: RoundAction[]): void {
    if (ev.type === 'trained') this.timing(ev.round).encodeMs = ms
    for (const a of actions) {
      if (a.type === 'applied') {
        const t = this.timing(a.commit.round)
        t.computeMs = ms
        t.appliedAt = now + ms
      } else if (a.type === 'train') {
        this.timing(a.round).startedAt = now
      } else if (a.type === 'closed') {
        this.timing(a.round).closedAt = now
      }
    }
  }

  private async perform (actions: RoundAction[]): Promise<void> {
    for (const a of actions) {
      switch (a.type) {
        case 'train': this.train(a.round, a.params, a.steps); break
        case 'putBlob': await this.blobs.put(a.bytes, this.engine.round); break
        case 'publishAnnounce': {
          const r = await publishAnnounce(this.host, a.msg)
          this.timing(a.msg.round).announcedAt = Date.now()
          this.countGossip(r.bytes.length, r.recipients)
          this.log.info({ round: a.msg.round, update: a.msg.updateId, size: a.msg.size }, 'announced update')
          this.republishWhileOpen(a.msg)
          break
        }
        case 'publishSubAggregate': {
          const r = await publishSubAggregate(this.host, a.msg)
          this.countGossip(r.bytes.length, r.recipients)
          this.log.info({ round: a.msg.round, group: a.msg.group, rank: a.msg.rank, included: a.msg.included.length }, 'folded group')
          break
        }
        case 'fetch': this.fetch(a.id, a.providers, a.kind); break
        case 'publishCommit': {
          const bytes = await encodeCommit(a.msg, this.host.privateKey, this.host.peerId)
          this.commitBytes.set(commitKey(a.msg), bytes)
          const n = await republish(this.host, 'commit', bytes)
          this.timing(a.msg.round).commitPublishedAt = Date.now()
          this.countGossip(bytes.length, n)
          this.log.info({ round: a.msg.round, rank: a.msg.rank, included: a.msg.included.length }, 'committed round')
          break
        }
        case 'applied': await this.applied(a.commit, a.state, a.verified); break
        case 'behind': void this.catchUpIfBehind(); break
        case 'wake': this.later(a.at - Date.now(), () => this.enqueue({ type: 'tick' })); break
        case 'log': this.log[a.level]({ ...a.data }, a.msg); break
      }
    }
  }

  private train (round: number, params: Float32Array, steps: number): void {
    if (this.cfg.maxRounds > 0 && round >= this.cfg.maxRounds) return
    this.trainChain = this.trainChain.then(async () => {
      if (this.stopping || this.engine.round !== round) return // the run moved on while we queued
      const t = this.timing(round)
      t.trainStartAt = Date.now()
      await this.trainer.setParams(params, this.innerState)
      await trainFromSampler(this.trainer, this.sampler, steps, this.cfg.innerLr)
      const after = await this.trainer.getParams()
      t.trainedAt = Date.now()
      this.innerState = after.state
      this.enqueue({ type: 'trained', round, params: after.params, samples: this.shardSize })
    }).catch(err => { this.log.error({ err }, 'local training failed') })
  }

  private fetch (id: string, providers: string[], kind: BlobKind): void {
    const maxBytes = this.trainer.layout.total * 8 + (1 << 20)
    const others = providers.filter(p => p !== this.host.peerId)
    const t = this.timing(this.engine.round)
    const startAt = Date.now()
    let recorded = false
    const done = (bytes: number, ok: boolean): void => {
      if (recorded) return
      recorded = true
      const f: FetchTiming = { kind, bytes, startAt, doneAt: Date.now(), ok }
      t.fetches.push(f)
      t.fetchedBytes += bytes
      t.fetchMs += f.doneAt - f.startAt
    }
    fetchBlob(this.host, id, others, { maxBytes, timeoutMs: Math.max(10_000, this.cfg.deadlineMs) })
      .then(async bytes => {
        done(bytes.length, true)
        this.fetchedBytes += bytes.length
        this.denseBytes += this.trainer.layout.total * 4 // every blob kind stands for one dense fp32 vector
        await this.blobs.put(bytes, this.engine.round) // now this node can serve it too
        this.enqueue({ type: 'blob', id, bytes })
      })
      .catch(err => {
        done(0, false)
        this.enqueue({ type: 'blobFailed', id, reason: (err as Error).message })
      })
  }

  private async applied (commit: Commit, state: ChainState, verified: string): Promise<void> {
    const signed = this.commitBytes.get(commitKey(commit))
    if (signed != null) await this.store.append({ commit, signed: Buffer.from(signed).toString('base64') })
    this.commitBytes.clear()
    await this.store.saveSnapshot(this.engine.snapshot(), this.trainer.layout)
    await this.publishState(state)
    // tell peers at once (not at the next tick) so one that missed this commit can pull it
    void this.presence()
    const timing = this.timing(commit.round)
    timing.persistedAt = Date.now()
    const ld = this.loopDelay
    const excess = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS)
    if (ld.count > 0) timing.loopDelay = { p50Ms: excess(ld.percentile(50)), p99Ms: excess(ld.percentile(99)), maxMs: excess(ld.max) }
    ld.reset()
    this.timings.delete(commit.round)
    // evaluate the new global model on the shared test split (queued with training: one worker)
    const ev = await (this.trainChain = this.trainChain.then(async () => {
      await this.trainer.setParams(state.params, this.innerState)
      return await this.trainer.evaluate(this.test)
    })).catch(() => undefined) as { loss: number, accuracy: number } | undefined
    const h: RoundHistory = {
      round: commit.round,
      aggregator: commit.aggregator,
      rank: commit.rank,
      included: commit.included.length,
      modelId: commit.newModelId,
      verified,
      loss: ev?.loss ?? null,
      accuracy: ev?.accuracy ?? null,
      bytes: this.gossipBytes + this.fetchedBytes,
      bytesDense: this.gossipBytes + this.denseBytes,
      at: Date.now(),
      timing
    }
    this.history.push(h)
    this.log.info({ ...h, timing: undefined }, `round ${commit.round} applied`)
    const keep = new Set<string>(this.modelRef != null ? [this.modelRef.cid] : [])
    await this.blobs.gc(state.round - this.cfg.keepRounds, keep)
    if (this.cfg.maxRounds > 0 && state.round >= this.cfg.maxRounds) {
      this.log.info({ rounds: state.round }, 'reached maxRounds')
      this.later(2_000, () => { void this.stop('maxRounds reached') }) // let peers fetch what they still need
    }
  }

  /** The current state as a blob peers can sync from: params, outer momentum, electorate. */
  private async publishState (state: ChainState): Promise<void> {
    const vectors: Record<string, Float32Array> = { params: state.params }
    if (state.outer.velocity != null) vectors.velocity = state.outer.velocity
    const bytes = encodeCheckpoint({
      layout: layoutToString(this.trainer.layout),
      meta: { kind: STATE_KIND, round: state.round, modelId: state.modelId, outerStep: state.outer.step, electorate: state.electorate },
      vectors
    })
    // the real round, so gc collects it keepRounds later; the one still served as the sync model is in gc's keep set
    const cid = await this.blobs.put(bytes, state.round)
    this.modelRef = { round: state.round - 1, cid: cid.toString() }
  }

  /**
   * Gossip can lose a commit (seen in the e2e tests right after a peer died). When a peer shows it
   * applied round r while this node is still on r (its presence, or its announce for r + 1), ask
   * that peer for its commit of r after a short grace, and hand it to the engine, which verifies it
   * like any gossiped commit (a duplicate changes nothing).
   */
  private pullCommitLater (from: string, round: number): void {
    if (this.pulling.has(round)) return
    this.pulling.add(round)
    this.later(COMMIT_PULL_GRACE_MS, () => {
      void (async () => {
        try {
          if (this.stopping || this.engine.round !== round) return
          const page = await requestChain(this.host, from, { fromRound: round, maxCommits: 1, timeoutMs: 5_000 })
          for (const c of page.commits) {
            if (c.message.round !== round || this.engine.round !== round) continue
            this.log.info({ round, from, aggregator: c.message.aggregator }, 'commit pulled from a peer (missed in gossip)')
            this.commitBytes.set(commitKey(c.message), c.bytes)
            this.timing(round).commitReceivedAt ??= Date.now()
            this.enqueue({ type: 'commit', msg: c.message })
          }
        } catch (err) {
          this.log.debug({ err: (err as Error).message, round, from }, 'commit pull failed')
        } finally {
          this.pulling.delete(round)
        }
      })()
    })
  }

  /** Fetch the chain and state from peers when they are ahead; verified against the signed commits. */
  private async catchUpIfBehind (): Promise<void> {
    if (this.syncing || this.stopping) return
    this.syncing = true
    try {
      const round = (id: string): number => this.peers.get(id)?.round ?? -1
      const peers = this.host.libp2p.getPeers().map(p => p.toString()).sort((a, b) => round(b) - round(a))
      if (peers.length === 0 || round(peers[0]) < this.engine.round) return
      const r = await catchUp(this.host, peers, { fromRound: this.engine.round, maxModelBytes: this.trainer.layout.total * 8 + (1 << 20), timeoutMs: 10_000 })
      if (r.commits.length === 0 || r.modelBytes == null || r.model == null) return
      const ck = decodeCheckpoint(r.modelBytes, this.trainer.layout)
      const meta = ck.meta as { kind?: string, round: number, modelId: string, outerStep: number, electorate: ChainState['electorate'] }
      if (meta.kind !== STATE_KIND) throw new DaemonError(DaemonErrorCode.StoreCorrupt, 'peer sent a blob that is not a node state')
      // the state must be the one a signed commit of the chain names: a peer cannot feed us its own.
      // Its chain may already hold the next commit while its state is still being persisted, so the
      // state is matched against the commit of its own round, and later commits are left to gossip.
      const upTo = r.commits.findIndex(c => c.message.round === meta.round - 1)
      const named = upTo >= 0 ? r.commits[upTo].message : undefined
      if (named == null || cidOf(modelBytes(ck.vectors.params)) !== named.newModelId) {
        throw new DaemonError(DaemonErrorCode.StoreCorrupt, 'peer state does not match its signed commit chain')
      }
      if (meta.round <= this.engine.round) return
      // and that chain must grow from the model this node holds, each commit by a candidate its
      // round elected: a signature alone only says who wrote it
      const mine = this.engine.state
      const adopted = r.commits.slice(0, upTo + 1).filter(c => c.message.round >= mine.round)
      const replay = checkChain({ round: mine.round, modelId: mine.modelId, electorate: mine.electorate }, adopted.map(c => c.message), this.engine.cfg)
      if (!replay.ok) throw new DaemonError(DaemonErrorCode.StoreCorrupt, `peer chain refused at round ${replay.round}: ${replay.refusal.reason}`)
      const head = replay.head
      if (head.round !== meta.round || head.modelId !== meta.modelId || !sameMembers(head.electorate, meta.electorate)) {
        throw new DaemonError(DaemonErrorCode.StoreCorrupt, 'peer state does not match the head its chain replays to')
      }
      for (const c of adopted) await this.store.append({ commit: c.message, signed: Buffer.from(c.bytes).toString('base64') })
      const state: ChainState = { round: head.round, modelId: head.modelId, params: ck.vectors.params, outer: { step: meta.outerStep, velocity: ck.vectors.velocity ?? null }, electorate: head.electorate }
      this.log.info({ from: r.peer, round: meta.round }, 'caught up with the run')
      this.enqueue({ type: 'synced', state })
    } catch (err) {
      const failures = (err as { failures?: unknown }).failures
      this.log.warn({ err: (err as Error).message, failures }, 'catch-up failed')
    } finally {
      this.syncing = false
    }
  }

  /** peers heard from recently that hold the model this round starts from */
  private livePeers (): string[] {
    const now = Date.now()
    return [...this.peers.values()].filter(p => now - p.lastSeen < 3 * PRESENCE_MS && p.round >= this.engine.round - 2).map(p => p.peerId)
  }

  private async presence (): Promise<void> {
    if (this.stopping) return
    try {
      // seq: distinct bytes each time, or gossipsub would drop the repeat as a duplicate
      const r = await publishPresence(this.host, { runId: this.cfg.runId, peerId: this.host.peerId, round: this.engine.round - 1, modelId: this.engine.modelId, capacity: this.cfg.capacity, seq: Date.now() })
      this.countGossip(r.bytes.length, r.recipients)
    } catch (err) { this.log.debug({ err }, 'presence not published') }
  }

  private peerInfo (peerId: string): PeerInfo {
    let p = this.peers.get(peerId)
    if (p == null) { p = { peerId, round: -1, lastSeen: 0, latencyMs: null }; this.peers.set(peerId, p) }
    return p
  }

  /** A signed message from `peerId` arrived: it is alive. */
  private heardFrom (peerId: string): PeerInfo {
    const p = this.peerInfo(peerId)
    p.lastSeen = Date.now()
    return p
  }

  /** Bytes one gossip publish put on the wire (at least one copy, even before anyone subscribed). */
  private countGossip (bytes: number, recipients: number): void {
    this.gossipBytes += bytes * Math.max(1, recipients)
  }

  private async measureLatency (): Promise<void> {
    for (const p of this.host.libp2p.getPeers()) {
      try {
        const ms = await this.host.libp2p.services.ping.ping(p, { signal: AbortSignal.timeout(2_000) })
        this.peerInfo(p.toString()).latencyMs = ms
      } catch {}
    }
  }

  private role (peerId: string): string {
    const c = this.engine.candidates
    const i = c.indexOf(peerId)
    const root = i === 0 ? 'aggregator' : i > 0 && i <= this.engine.cfg.backups ? `backup ${i}` : 'member'
    // hierarchical mode: also the peer's group and its place there, e.g. "member, group 2 sub-aggregator"
    const g = this.engine.groupRole(peerId)
    if (g == null) return root
    const sub = g.rank === 0 ? ' sub-aggregator' : g.rank > 0 && g.rank <= this.engine.cfg.backups ? ` sub-backup ${g.rank}` : ''
    return `${root}, group ${g.group}${sub}`
  }

  private peerTable (): { peers: Array<{ peerId: string, addrs: string[], latencyMs: number | null, role: string, round: number }> } {
    const connected = new Set(this.host.libp2p.getPeers().map(p => p.toString()))
    const ids = new Set([...connected, ...this.peers.keys()])
    return {
      peers: [...ids].map(id => ({
        peerId: id,
        addrs: this.host.libp2p.getConnections().filter(c => c.remotePeer.toString() === id).map(c => c.remoteAddr.toString()),
        latencyMs: this.peers.get(id)?.latencyMs ?? null,
        role: this.role(id),
        round: this.peers.get(id)?.round ?? -1,
        connected: connected.has(id)
      }))
    }
  }

  private status (): Record<string, unknown> {
    return {
      peerId: this.host.peerId,
      runId: this.cfg.runId,
      round: this.engine.round,
      aggregator: this.engine.candidates[0] ?? null,
      role: this.role(this.host.peerId),
      device: this.trainer.device,
      addrs: this.host.multiaddrs(),
      peers: this.peerTable().peers,
      model: this.modelInfo(),
      bytes: { sent: this.gossipBytes + this.blobServer.bytesServed, fetched: this.fetchedBytes, gossip: this.gossipBytes, served: this.blobServer.bytesServed },
      lastRound: this.history[this.history.length - 1] ?? null
    }
  }

  private modelInfo (): Record<string, unknown> {
    return { cid: this.modelRef?.cid ?? null, round: this.engine.round - 1, modelId: this.engine.modelId, params: this.trainer.layout.total, layout: layoutToString(this.trainer.layout) }
  }

  /** Current global parameters (for export). */
  get params (): Float32Array { return this.engine.state.params }

  async stop (why: string): Promise<void> {
    if (this.stopping) return await this.stopped
    this.stopping = true
    this.log.info({ why }, 'stopping')
    for (const t of this.timers) { clearTimeout(t); clearInterval(t) }
    try {
      await this.chain.catch(() => {})
      await this.store.saveSnapshot(this.engine.snapshot(), this.trainer.layout)
      await this.blobs.flush()
      for (const f of this.stopFns.reverse()) { try { await f() } catch {} }
      await this.control.close()
      await clearControlInfo(this.paths)
      await this.host.stop()
      await this.trainer.close()
    } catch (err) {
      this.log.error({ err }, 'error while stopping')
    } finally {
      this.log.info('stopped')
      this.resolveStopped()
    }
  }
}

function commitKey (c: Commit): string {
  return `${c.round}/${c.aggregator}/${c.newModelId}`
}

/** The first round this process trains, so a restarted node does not replay its old batches. */
function lastCommittedRound (store: ChainStore): number {
  return store.latest?.commit.round ?? -1
}

function sameMembers (a: readonly Member[], b: unknown): boolean {
  if (!Array.isArray(b) || a.length !== b.length) return false
  return a.every((m, i) => m.peerId === (b[i] as Member)?.peerId && m.capacity === (b[i] as Member)?.capacity)
}
