// The running node, wired from injected parts: the RoundDriver (src/round) over the libp2p
// transport, the local trainer, the chain and blob stores, presence, round timing and the control
// API. It decides nothing about rounds itself; it persists what the driver applies.
import type { Logger } from 'pino'
import {
  serveBlobs, serveSync, serveMembership, subscribePresence, publishPresence, blobCid, Libp2pRoundTransport, encodeState, decodeState, BulkClient, proofHolds, fetchBlob, parseBlobCid,
  type TapestryHost, type BlobServer, type BulkServer, type MembershipExchange
} from '../net/index.js'
import { EvidenceStore, makeEvidence, type EvidenceInput } from './evidence.js'
import { RoundLog } from './round-log.js'
import type { NodeMetrics } from './metrics.js'
import { OpsServer } from './ops-server.js'
import { CATALOG_REPUBLISH_MS, publishCatalog, readCatalog } from './data-catalog.js'
import { toRoundConfig, RoundDriver, RefusalCode, modelBytes, recomputeCommit, type PastCheck, type RoundConfig, type EquivocationProof, type ChainState, type Commit, type EngineSnapshot, type ChainCommit, type DriverEvent, type TrainResult } from '../round/index.js'
import type { BatchSampler, Dataset } from '../data/index.js'
import { initParams, type ModelSpec } from '../graph/index.js'
import { trainFromSampler, type Trainer } from '../train/index.js'
import { randomBytes } from 'node:crypto'
import { layoutToString, hashString, Rng } from '../tensor/index.js'
import type { PrivacyLedger } from './privacy-ledger.js'
import type { NodeConfig } from './config.js'
import { writeControlInfo, clearControlInfo, type DataDirPaths } from './datadir.js'
import type { DiskBlobStore } from './disk-blob-store.js'
import type { ChainStore, StoredCommit } from './chain-store.js'
import { ControlServer } from './control.js'
import type { RoundHistory } from './control-types.js'
import { PresenceTracker } from './presence.js'
import { SyncBackoff } from './sync-backoff.js'
import { RoundTimer } from './round-timing.js'
import { modelView, peerTable, statusView, type ViewSource } from './views.js'
import { openComponents } from './boot.js'
import type { RunMembers } from './members.js'
import { DaemonError, DaemonErrorCode } from './errors.js'
import { forkWhy } from './fork-why.js'

export type { RoundHistory, RoundTiming, FetchTiming } from './control-types.js'

/** Everything a node is made of; `openComponents` builds them from a data directory, tests may inject their own. */
export interface NodeComponents {
  paths: DataDirPaths
  cfg: NodeConfig
  /** the run (manifest) and who belongs to it */
  members: RunMembers
  log: Logger
  token: string
  host: TapestryHost
  /** the bulk transfer listener (blob.md §7), null when off or without a TCP listen address */
  bulk: BulkServer | null
  trainer: Trainer
  blobs: DiskBlobStore
  store: ChainStore
  model: ModelSpec
  sampler: BatchSampler
  /** the shared held-out split every node evaluates the global model on */
  test: Dataset
  /** this node's training examples: its weight in the fold */
  samples: number
  /** the state after the last persisted commit, null for a new node */
  restored: EngineSnapshot | null
  /** releases under differential privacy so far (null when the run has none) */
  privacy: PrivacyLedger | null
  /** Prometheus registry of this node: libp2p's metrics and Tapestry's */
  metrics: NodeMetrics
}

const LATENCY_MS = 5_000
/** how often the reachability report feeds metrics and the log */
const REACHABILITY_MS = 5_000

/** Digest used for every content id: the CID string of the bytes (sha2-256, raw). */
const cidOf = (bytes: Uint8Array): string => blobCid(bytes).toString()

export class TapestryNode {
  readonly driver: RoundDriver
  private readonly transport: Libp2pRoundTransport
  private readonly presence: PresenceTracker
  private readonly timer = new RoundTimer()
  private readonly evidence: EvidenceStore
  private readonly roundLog: RoundLog
  private ops: OpsServer | undefined
  private opsPort: number | null = null
  /** equivocation proofs not yet carried by a commit on the chain */
  private proofs: EquivocationProof[] = []
  /** evidence records are written one after another, never racing each other */
  private evidenceWrites: Promise<void> = Promise.resolve()
  private readonly syncBackoff = new SyncBackoff(Date.now)
  private readonly history: RoundHistory[] = []
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly stopFns: Array<() => unknown> = []
  private blobServer!: BlobServer
  /** this node's bulk transfer connections to providers, kept between fetches (blob.md §7) */
  private readonly bulkClient = new BulkClient()
  private membership: MembershipExchange | undefined
  /** set while round 0 waits for the manifest's minimum of members */
  private waiting: { members: number, minMembers: number } | null = null
  private control!: ControlServer
  private trainChain: Promise<unknown> = Promise.resolve()
  private innerState: Float32Array[] | undefined
  private modelRef: { round: number, cid: string } | undefined
  /** the state blob this node started each recent round with (publishState): what checkPast refolds from */
  private readonly stateOfRound = new Map<number, string>()
  private readonly roundCfg: RoundConfig
  private gossipBytes = 0
  private fetchedBytes = 0
  private denseBytes = 0
  private stopping = false
  private lastReachability = ''
  private readonly stopped: Promise<void>
  private resolveStopped!: () => void

  /** Opens the data directory's components and starts the node on them. */
  static async start (dataDir: string, log: Logger, overrides: Record<string, unknown> = {}): Promise<TapestryNode> {
    const c = await openComponents(dataDir, log, overrides)
    const node = new TapestryNode(c)
    try {
      await node.run()
    } catch (err) {
      await node.stop('start failed')
      throw err
    }
    return node
  }

  /** Wires the parts; nothing runs until run(). */
  constructor (private readonly c: NodeComponents) {
    this.stopped = new Promise(resolve => { this.resolveStopped = resolve })
    this.evidence = new EvidenceStore(c.paths.evidence)
    this.roundLog = new RoundLog(c.paths.rounds)
    const { cfg, host, log, trainer, members } = c
    const runId = members.runId
    const roundCfg = toRoundConfig(cfg, { runId, members: Math.max(1, members.manifest.body.members.length) })
    this.roundCfg = roundCfg
    this.transport = new Libp2pRoundTransport({
      host,
      runId,
      layout: trainer.layout,
      blobs: c.blobs,
      train: async (round, params, steps) => await this.train(round, params, steps),
      peersAhead: () => this.syncBackoff.usable(this.presence.ahead(host.libp2p.getPeers().map(p => p.toString()))),
      log,
      timeoutMs: Math.max(10_000, cfg.deadlineMs),
      bulk: cfg.bulkTransfer ? { unreachable: new Map(), minBytes: cfg.bulkMinBytes, client: this.bulkClient } : undefined,
      onGossipBytes: n => { this.gossipBytes += n; this.c.metrics.gossipOut(n) },
      onCommitReceived: msg => this.timer.commitReceived(msg.round, Date.now()),
      onAnnounceReceived: (msg, from) => {
        this.presence.onAnnounce(from, msg.round)
        if (msg.peerId !== host.peerId) this.timer.announceReceived(msg.round, Date.now())
      },
      onEquivocation: (first, second, commit) => {
        // both envelopes verified on arrival: the proof my next commit carries (the accused leaves the electorate)
        if (this.proofs.length < 16 && !this.proofs.some(p => p.accused === commit.aggregator)) this.proofs.push({ first, second, accused: commit.aggregator, round: commit.round })
        this.recordEvidence({ kind: 'equivocation', runId, round: commit.round, accused: commit.aggregator, code: 'ERR_ROUND_EQUIVOCATION', reason: `two different signed commits for round ${commit.round}`, commits: [b64(first), b64(second)] })
      }
    })
    this.driver = new RoundDriver({
      cfg: roundCfg,
      layout: trainer.layout,
      // differential privacy's noise: a fresh secret seed per round (never derivable by peers)
      // weights from the roster: an update counts as the manifest says, never as a message claims
      deps: {
        self: host.peerId,
        digest: cidOf,
        // fork choice counts a branch's builders by their own announce signatures, which a forger cannot make
        announceProven: (commit, u) => proofHolds({ runId: commit.runId, round: commit.round, baseModelId: commit.prevModelId }, u, roundCfg.codec),
        noise: () => new Rng(randomBytes(32).toString('hex')),
        limits: members.limitsOf,
        equivocations: () => this.proofs
      },
      restore: c.restored ?? this.genesis(),
      hooks: {
        applied: async (commit, state, verified) => await this.applied(commit, state, verified),
        // the noised update is counted on disk before it is published: a crash between the two
        // over-counts one release (ε errs high), never under-counts
        announcing: async () => { await this.c.privacy?.release() },
        adopted: async (commits, state, fork) => await this.adopted(commits, state, fork),
        // a commit revealed after its round is refolded from the updates it lists (fetched where this
        // node did not hold them); a hierarchical root folds group folds, which this does not redo
        checkPast: roundCfg.mode !== 'hierarchical' ? async commit => await this.checkPast(commit) : undefined
      },
      // fork choice compares another branch with this node's own chain (protocols/sync.md §7)
      ownChain: from => c.store.all.filter(s => s.commit.round >= from).map(s => s.commit),
      genesisElectorate: members.manifest.body.members.map(m => ({ peerId: m.peerId, capacity: m.capacity }))
    }, this.transport)
    this.presence = new PresenceTracker({
      self: host.peerId,
      runId,
      capacity: members.capacityOf(host.peerId),
      now: Date.now,
      position: () => ({ appliedRound: this.driver.round - 1, modelId: this.driver.state.modelId }),
      publish: async msg => {
        const r = await publishPresence(host, msg)
        this.gossipBytes += r.bytes.length * Math.max(1, r.recipients)
      },
      peerAt: (peer, round) => this.driver.peerAt(peer, round),
      setLive: live => this.driver.setLive(live),
      log
    })
    this.driver.on(e => this.onDriverEvent(e))
    members.round = () => this.driver.round
    members.onChange = () => this.dropNonMembers()
  }

  get peerId (): string { return this.c.host.peerId }
  get whenStopped (): Promise<void> { return this.stopped }
  /** Current global parameters (for export). */
  get params (): Float32Array { return this.driver.state.params }

  /** Serve, subscribe, and start the first round once peers had a presence period to say where they stand. */
  async run (): Promise<void> {
    const { host, cfg, log, store, blobs, trainer, paths } = this.c
    if (this.c.restored != null) log.info({ round: this.c.restored.chain.round, model: this.c.restored.chain.modelId }, 'resumed from the last commit')
    // the history before this start (rounds a crash rolled back are dropped from it)
    this.history.push(...(await this.roundLog.read()).filter(h => h.round < this.driver.round))
    log.info({ device: trainer.device, reason: trainer.deviceReason }, `execution provider: ${trainer.device}`)
    await this.publishState(this.driver.state)
    this.blobServer = await serveBlobs(host, { store: blobs, log, bulk: this.c.bulk != null ? { server: this.c.bulk, minBytes: this.c.cfg.bulkMinBytes } : undefined })
    this.stopFns.push(() => { this.bulkClient.close() })
    if (this.c.bulk != null) {
      const bulk = this.c.bulk
      this.stopFns.push(async () => await bulk.close())
      log.info({ port: bulk.port, minBytes: cfg.bulkMinBytes }, `bulk transfers (blob ranges of ${cfg.bulkMinBytes} bytes and more, TLS-PSK) on TCP port ${bulk.port}`)
    }
    const sync = await serveSync(host, {
      getChain: (from, limit) => store.all.filter(c => c.commit.round >= from).slice(0, limit).map(c => Buffer.from(c.signed, 'base64')),
      getModel: () => this.modelRef
    })
    this.stopFns.push(async () => await sync.stop(), async () => await this.blobServer.stop())
    this.transport.attach(this.driver)
    this.stopFns.push(() => this.transport.close())
    this.stopFns.push(subscribePresence(host, (msg, info) => this.presence.onPresence(msg, info.from)))
    const membership = await serveMembership(host, { list: () => this.c.members.list(), accept: this.c.members.accept })
    this.membership = membership
    this.stopFns.push(async () => await membership.stop())

    this.control = new ControlServer(this.c.token, {
      status: () => statusView(this.view()),
      peers: () => ({ peers: peerTable(this.view()) }),
      rounds: () => ({ rounds: this.history }),
      model: () => modelView(this.view()),
      stop: () => { setImmediate(() => { void this.stop('control API') }); return { stopping: true } },
      membership: async body => {
        const verdict = await this.c.members.accept(body, 'control API')
        if (verdict === 'invalid') throw new DaemonError(DaemonErrorCode.BadConfig, 'membership document refused (see the daemon log for why)')
        return { verdict, recipients: await this.membership?.publish(body) ?? 0 }
      },
      catalog: async () => await readCatalog(this.c),
      partition: body => {
        if (process.env.TAPESTRY_TEST_PARTITION !== '1') throw new DaemonError(DaemonErrorCode.Unauthorized, 'partition is a fault-test route: start the daemon with TAPESTRY_TEST_PARTITION=1 to use it')
        const { peers, ms } = (body ?? {}) as { peers?: unknown, ms?: unknown }
        if (!Array.isArray(peers) || !peers.every(p => typeof p === 'string') || typeof ms !== 'number' || !(ms >= 0 && ms <= 3_600_000)) {
          throw new DaemonError(DaemonErrorCode.BadConfig, 'partition: body must be { peers: string[], ms: 0…3600000 }')
        }
        const until = Date.now() + ms
        this.c.members.partition(peers as string[], until)
        this.dropNonMembers()
        log.warn({ peers, ms }, 'test partition: cut off from these peers')
        return { until }
      }
    })
    const port = await this.control.listen(cfg.controlPort)
    this.ops = new OpsServer({ metrics: async () => await this.c.metrics.text(), status: () => statusView(this.view()), rounds: () => this.history })
    this.opsPort = await this.ops.listen(cfg.opsPort)
    await writeControlInfo(paths, { port, pid: process.pid, peerId: host.peerId, opsPort: this.opsPort })

    this.every(this.presence.periodMs, () => { void this.presence.publish() })
    if (cfg.catalog != null) {
      // DHT records expire and peers come and go: publish soon after start, then every 10 minutes
      this.later(5_000, () => { void publishCatalog(this.c) })
      this.every(CATALOG_REPUBLISH_MS, () => { void publishCatalog(this.c) })
    }
    this.every(LATENCY_MS, () => { this.readLatency() })
    this.every(REACHABILITY_MS, () => { this.watchReachability() })
    log.info({ peerId: host.peerId, addrs: host.multiaddrs(), control: port, round: this.driver.round }, 'node started')
    // a late joiner (or a node back from a long crash) first asks peers whether the run moved on
    this.later(this.presence.periodMs + 500, () => { void this.startWhenEnoughMembers() })
  }

  /**
   * Round 0 waits for the manifest's minimum of members (this node included) to be connected, so
   * a lone founder does not run solo rounds; a node resuming a run that moved on starts at once.
   */
  private async startWhenEnoughMembers (): Promise<void> {
    if (this.c.restored == null) await this.enoughMembers(() => this.driver.round === 0, 'before round 0')
    if (!this.stopping) this.driver.start({ catchUp: true })
  }

  /**
   * Waits while fewer than the manifest's minimum of members (this node included) are connected,
   * saying so every 10 s; true once there are enough, false when `still()` stops holding (the run
   * moved on) or the node stops. A node cut off from the others so trains no solo rounds: its
   * chain cannot fork off on its own.
   */
  private async enoughMembers (still: () => boolean, when: string): Promise<boolean> {
    const { members, log, host } = this.c
    let lastSaid = 0
    try {
      while (!this.stopping && still()) {
        const have = members.membersAmong(host.peerId, host.libp2p.getPeers().map(p => p.toString()))
        if (have >= members.minMembers) return true
        this.waiting = { members: have, minMembers: members.minMembers }
        if (Date.now() - lastSaid > 10_000) {
          lastSaid = Date.now()
          log.info({ have, need: members.minMembers }, `waiting for members ${when}: ${have} of ${members.minMembers} connected`)
        }
        await new Promise(resolve => setTimeout(resolve, 250))
      }
      return false
    } finally {
      this.waiting = null
    }
  }

  /** A removed member's connections are closed at once (the gater refuses its new ones). */
  private dropNonMembers (): void {
    const { host, members, log } = this.c
    for (const p of host.libp2p.getPeers()) {
      if (members.mayConnect(p.toString())) continue
      log.info({ peer: p.toString() }, 'peer is no longer a member: disconnected')
      void host.libp2p.hangUp(p).catch(() => {})
    }
  }

  /** A commit this node proved wrong: a signed record of it, with the accused's own signed bytes. */
  private evidenceOfRefusal (commit: Commit, code: RefusalCode, reason: string, updateId?: string): void {
    const signed = this.transport.signedCommit(commit)
    if (signed == null) return // not signed bytes we hold (e.g. pulled long ago): nothing anyone else could check
    const announce = updateId != null ? this.transport.signedAnnounce(updateId) : undefined
    this.recordEvidence({
      kind: code === RefusalCode.Censored ? 'censorship' : 'wrong-fold',
      runId: this.c.members.runId, round: commit.round, accused: commit.aggregator, code, reason,
      commits: [b64(signed)], announce: announce != null ? b64(announce) : undefined
    })
  }

  private recordEvidence (input: EvidenceInput): void {
    const clean = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as EvidenceInput
    this.evidenceWrites = this.evidenceWrites.then(async () => {
      const e = await makeEvidence(clean, this.c.host.privateKey)
      if (await this.evidence.add(e)) this.c.log.warn({ kind: e.kind, round: e.round, accused: e.accused }, `evidence recorded: ${e.reason}`)
    }).catch(err => { this.c.log.warn({ err: (err as Error).message }, 'evidence not recorded') })
  }

  private genesis (): EngineSnapshot {
    const { cfg } = this.c
    const params = initParams(this.c.model, cfg.seed)
    const chain: ChainState = {
      round: 0,
      modelId: cidOf(modelBytes(params)),
      params,
      outer: { step: 0, velocity: null },
      electorate: this.c.members.manifest.body.members.map(m => ({ peerId: m.peerId, capacity: m.capacity }))
    }
    return { chain, codec: { seed: hashString(chain.electorate.map(m => m.peerId).join(',') + this.c.members.runId) } }
  }

  private onDriverEvent (e: DriverEvent): void {
    const log = this.c.log
    this.timer.onDriverEvent(e)
    this.c.metrics.onDriverEvent(e)
    switch (e.type) {
      case 'fetched':
        if (e.ok) {
          this.fetchedBytes += e.bytes
          this.denseBytes += this.c.trainer.layout.total * 4 // every blob kind stands for one dense fp32 vector
        } else {
          // the engine tries again elsewhere; why it failed is the operator's first question on a bad link
          log.warn({ round: e.round, kind: e.kind, blob: e.id, ms: Math.round(e.at - e.startAt), reason: e.reason }, 'fetch failed')
        }
        break
      case 'setClosed': log.info({ round: e.round, rank: e.rank, included: e.included, groups: e.groups }, 'closing round'); break
      case 'refused':
        log[e.severity === 'reject' ? 'warn' : 'debug']({ from: e.from, round: e.round, code: e.code }, `${e.what} refused: ${e.reason}`)
        if (e.commit != null && (e.code === RefusalCode.FoldMismatch || e.code === RefusalCode.Censored)) this.evidenceOfRefusal(e.commit, e.code, e.reason, e.updateId)
        break
      case 'synced': this.syncBackoff.adopted(e.from); log.info({ from: e.from, round: e.round, commits: e.commits }, 'caught up with the run'); break
      case 'syncRefused': {
        const pauseMs = this.syncBackoff.refused(e.from)
        log.warn({ from: e.from, code: e.code, pauseMs }, `peer chain refused: ${e.reason} (not asked again for ${Math.round(pauseMs / 1000)} s)`)
        break
      }
      case 'syncFailed': log.warn({ reason: e.reason }, 'catch-up failed'); break
      case 'forkChosen':
        log.info({ round: e.round, from: e.from, rule: e.decision?.rule, values: e.decision?.values },
          `fork from round ${e.round} with ${e.from}: ${e.adopted ? 'moved to its branch' : 'kept this node\'s branch'} (${forkWhy(e.decision)})`)
        break
      case 'engineError': log.error({ err: e.error, event: e.event }, 'round engine refused an event'); break
      case 'log': log[e.level]({ ...e.data }, e.msg)
    }
  }

  /** Local training, one round at a time on the worker (evaluation shares its queue). */
  private async train (round: number, params: Float32Array, steps: number): Promise<TrainResult | null> {
    const { cfg, trainer } = this.c
    if (cfg.maxRounds > 0 && round >= cfg.maxRounds) return null
    // no round without the manifest's minimum of members: a node left alone does not fork off
    if (!await this.enoughMembers(() => this.driver.round === round, `for round ${round}`)) return null
    const job = this.trainChain.then(async (): Promise<TrainResult | null> => {
      if (this.stopping || this.driver.round !== round) return null // the run moved on while we queued
      this.timer.trainStarted(round, Date.now())
      await trainer.setParams(params, this.innerState)
      await trainFromSampler(trainer, this.c.sampler, steps, cfg.innerLr)
      const after = await trainer.getParams()
      this.timer.trainDone(round, Date.now())
      this.innerState = after.state
      return { params: after.params, samples: this.c.samples }
    })
    this.trainChain = job.catch(() => {})
    return await job
  }

  /** Persists an applied commit and its state before the driver hands the engine anything else. */
  private async applied (commit: Commit, state: ChainState, verified: string): Promise<void> {
    const { store, trainer, cfg, log, blobs } = this.c
    const banned = new Set(state.banned ?? [])
    if (banned.size > 0) {
      for (const p of this.proofs) if (banned.has(p.accused)) log.warn({ accused: p.accused, round: state.round }, 'member excluded from the electorate for equivocation (proof on the chain)')
      this.proofs = this.proofs.filter(p => !banned.has(p.accused))
    }
    this.dropNonMembers()
    const signed = this.transport.signedCommit(commit)
    if (signed != null) await store.append({ commit, signed: Buffer.from(signed).toString('base64') })
    else log.error({ round: commit.round }, 'applied a commit whose signed bytes are gone: not in the chain store (peers syncing from this node will find a gap)')
    await store.saveSnapshot(this.driver.engine.snapshot(), trainer.layout)
    await this.publishState(state)
    // tell peers at once (not at the next tick) so one that missed this commit can pull it
    void this.presence.publish()
    const timing = this.timer.close(commit.round, Date.now())
    const bytes = this.gossipBytes + this.fetchedBytes
    const bytesDense = this.gossipBytes + this.denseBytes
    const keep = new Set<string>(this.modelRef != null ? [this.modelRef.cid] : [])
    await blobs.gc(state.round - cfg.keepRounds, keep)
    // evaluate the new global model on the shared test split behind the next training (one worker);
    // the round's record waits for it, the protocol does not
    const evaluated = this.trainChain.then(async () => {
      await trainer.setParams(state.params, this.innerState)
      return await trainer.evaluate(this.c.test)
    })
    this.trainChain = evaluated.catch(() => {})
    void evaluated.catch(() => undefined).then(ev => {
      const h: RoundHistory = {
        round: commit.round,
        aggregator: commit.aggregator,
        rank: commit.rank,
        included: commit.included.length,
        modelId: commit.newModelId,
        verified,
        loss: ev?.loss ?? null,
        accuracy: ev?.accuracy ?? null,
        bitsPerByte: ev?.bitsPerByte ?? null,
        bytes,
        bytesDense,
        at: Date.now(),
        timing,
        epsilon: this.c.privacy?.view().epsilon
      }
      this.history.push(h)
      this.c.metrics.evaluated(h)
      void this.roundLog.append(h, err => { log.warn({ err: err.message }, 'round record not written to rounds.jsonl') })
      log.info({ ...h, timing: undefined }, `round ${commit.round} applied`)
    })
    if (cfg.maxRounds > 0 && state.round >= cfg.maxRounds) {
      log.info({ rounds: state.round }, 'reached maxRounds')
      // the last round's record waits for its evaluation (a language model's takes seconds); then
      // peers get 2 s to fetch what they still need
      void evaluated.catch(() => undefined).then(() => this.later(2_000, () => { void this.stop('maxRounds reached') }))
    }
  }

  /**
   * A sync was checked against this node's chain: its commits go to the chain store first, then the
   * state they lead to (the engine moves to it next), so a crash after a catch-up does not resume
   * before it (the start would drop the adopted commits the old snapshot does not cover). With
   * `fork`, this node's own commits from the fork round on are moved aside first (evidence).
   */
  private async adopted (commits: ChainCommit[], state: ChainState, fork?: { round: number, abandoned: Commit[] }): Promise<void> {
    if (fork != null) {
      const kept = await this.c.store.rewind(fork.round)
      this.c.log.warn({ round: fork.round, abandoned: fork.abandoned.length, evidence: kept }, 'fork choice: left this node\'s branch for the one the electorate followed (own branch kept as evidence)')
    }
    const stored: StoredCommit[] = []
    for (const c of commits) {
      const signed = c.signed ?? this.transport.signedCommit(c.commit)
      // without its signed bytes the chain could not be served: persist nothing, move nowhere (the sync fails)
      if (signed == null) throw new Error(`adopted commit of round ${c.commit.round} has no signed bytes`)
      stored.push({ commit: c.commit, signed: Buffer.from(signed).toString('base64') })
    }
    // one write and one fsync for the whole adopted chain
    await this.c.store.appendAll(stored)
    // unless the engine got past it meanwhile (its own snapshot is newer)
    if (state.round > this.driver.round || fork != null) await this.c.store.saveSnapshot({ chain: state, codec: this.driver.engine.snapshot().codec }, this.c.trainer.layout)
  }

  /** The current state as a blob peers can sync from, tagged with its round so gc collects it later. */
  private async publishState (state: ChainState): Promise<void> {
    const cid = await this.c.blobs.put(encodeState(state, this.c.trainer.layout), state.round)
    this.modelRef = { round: state.round - 1, cid: cid.toString() }
    this.stateOfRound.set(state.round, cid.toString())
    if (this.stateOfRound.size > 64) this.stateOfRound.delete(this.stateOfRound.keys().next().value as number)
  }

  /**
   * Refold `c`, a commit of a round this node passed (gossip or aggregator mode), from the state it
   * started that round with and the updates `c` folds (held, or fetched from their authors; in
   * aggregator mode also the aggregate's bytes, re-encoded and compared with its id): what fork choice
   * asks before leaving a branch for one whose first commit this node never checked (sync.md §7).
   * null: the state or an input is gone (collected, or never fetchable), so it cannot be told.
   */
  private async checkPast (c: Commit): Promise<PastCheck> {
    const { blobs, trainer, host } = this.c
    const stateCid = this.stateOfRound.get(c.round)
    const stateBytes = stateCid == null ? undefined : await blobs.get(parseBlobCid(stateCid))
    const state = stateBytes == null ? null : decodeState(stateBytes, trainer.layout)
    if (state == null || state.round !== c.round || state.modelId !== c.prevModelId) return null
    const inputs = new Map<string, Uint8Array>()
    // one bound for the whole check: a commit listing blobs nobody serves costs seconds, once
    const signal = AbortSignal.timeout(15_000)
    const needs = [
      ...c.included.map(u => ({ id: u.updateId, from: u.peerId })),
      ...(c.excluded ?? []).filter(e => e.reason === 'refused').map(e => ({ id: e.updateId, from: e.peerId }))
    ]
    for (const n of needs) {
      let bytes: Uint8Array | undefined
      try {
        bytes = await blobs.get(parseBlobCid(n.id)) ?? await fetchBlob(host, n.id, [n.from, c.aggregator], { maxBytes: trainer.layout.total * 8 + (1 << 20), timeoutMs: 10_000, signal })
      } catch {
        return null
      }
      inputs.set(n.id, bytes)
    }
    const r = recomputeCommit({ cfg: this.roundCfg, layout: trainer.layout, blobs: inputs }, state, c, { how: 'full', needs: [], mine: undefined, groups: undefined }, cidOf)
    return r.ok ? { ok: true } : { ok: false, reason: r.reason }
  }

  private view (): ViewSource {
    const { host, trainer } = this.c
    const e = this.driver.engine
    return {
      peerId: host.peerId,
      runId: this.c.members.runId,
      runName: this.c.members.manifest.body.name,
      waiting: this.waiting,
      refused: { ...host.refused },
      device: trainer.device,
      addrs: () => host.multiaddrs(),
      reachability: () => host.reachability(),
      connections: () => host.libp2p.getConnections().map(c => ({ peerId: c.remotePeer.toString(), addr: c.remoteAddr.toString() })),
      round: e.round,
      modelId: e.modelId,
      candidates: e.candidates,
      banned: e.state.banned ?? [],
      opsPort: this.opsPort,
      backups: e.cfg.backups,
      groupRole: p => e.groupRole(p),
      peers: this.presence.peers,
      history: this.history,
      modelRef: this.modelRef,
      params: trainer.layout.total,
      layout: layoutToString(trainer.layout),
      bytes: { gossip: this.gossipBytes, fetched: this.fetchedBytes, served: this.blobServer?.bytesServed ?? 0 },
      bulk: this.c.bulk != null ? { port: this.c.bulk.port, ...this.c.bulk.stats } : null,
      privacy: this.c.privacy?.view() ?? null
    }
  }

  /**
   * Each peer's round-trip time, as libp2p's connection monitor last measured it (its ping every
   * 10 s). Not a ping of our own: the ping protocol allows one outbound stream per connection, and
   * the monitor aborts the whole connection, with every blob transfer on it, when its ping finds
   * ours in flight (seen on lossy links, where a ping waits out a retransmission).
   */
  private readLatency (): void {
    const libp2p = this.c.host.libp2p
    for (const p of libp2p.getPeers()) {
      const rtts = libp2p.getConnections(p).map(c => c.rtt).filter((x): x is number => x != null && Number.isFinite(x))
      if (rtts.length > 0) this.presence.info(p.toString()).latencyMs = Math.round(Math.min(...rtts))
    }
  }

  /** Metrics, and a log line whenever how this node is reached changes (relayed ⇄ public, a new relay). */
  private watchReachability (): void {
    const r = this.c.host.reachability()
    this.c.metrics.reachability(r)
    const now = `${r.reachability} ${r.relays.join(',')}`
    if (now === this.lastReachability) return
    this.lastReachability = now
    this.c.log.info({ reachability: r.reachability, relays: r.relays, public: r.addresses.public }, r.reachability === 'relayed'
      ? `reachable through relay ${r.relays.join(', ')} (no public address verified)`
      : `reachability: ${r.reachability}`)
  }

  private every (ms: number, fn: () => void): void {
    const t = setInterval(fn, ms)
    t.unref()
    this.timers.add(t)
  }

  private later (ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.timers.delete(t); if (!this.stopping) fn() }, Math.max(0, ms))
    this.timers.add(t)
  }

  async stop (why: string): Promise<void> {
    if (this.stopping) return await this.stopped
    this.stopping = true
    const { log, store, trainer, blobs, paths, host } = this.c
    log.info({ why }, 'stopping')
    for (const t of this.timers) { clearTimeout(t); clearInterval(t) }
    try {
      await this.driver.stop()
      await store.saveSnapshot(this.driver.engine.snapshot(), trainer.layout)
      await blobs.flush()
      for (const f of this.stopFns.reverse()) { try { await f() } catch {} }
      await this.control?.close()
      await this.ops?.close()
      await clearControlInfo(paths)
      await host.stop()
      this.timer.stop()
      await trainer.close()
    } catch (err) {
      log.error({ err }, 'error while stopping')
    } finally {
      log.info('stopped')
      this.resolveStopped()
    }
  }
}

function b64 (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64')
}
