// The RoundTransport over libp2p: signed gossip topics, the blob protocol, the sync protocol and
// wall-clock timers. The daemon drives its RoundDriver through this; the conformance suite
// (test/round/conformance.ts) holds it to what the simulated and in-memory transports do.
import type { Logger } from 'pino'
import { commitKey, type Announce, type ChainCommit, type ChainState, type Commit, type OutgoingMessage, type RoundDriver, type RoundTransport, type SyncOffer, type TrainResult, type BlobKind, type FetchResult, type AnnounceProof, type IncludedUpdate } from '../round/index.js'
import { equals } from 'uint8arrays'
import { decodeCheckpoint, encodeCheckpoint } from '../train/checkpoint.js'
import { layoutToString, type ParamLayout } from '../tensor/index.js'
import { encodeCommit } from './gossip-codec.js'
import { fetchBlob, type BulkFetchOptions } from './blob-fetch.js'
import { FetchError } from './errors.js'
import { proofFromEnvelope } from './announce-proof.js'
import { parseBlobCid, type BlobCid } from './cid.js'
import { catchUp, requestChain } from './sync.js'
import { publishAnnounce, publishSubAggregate, republish, subscribeAnnounce, subscribeCommit, subscribeSubAggregate } from './topics.js'
import { WallTimers } from './wall-timers.js'
import type { TapestryHost } from './host.js'

/** Blob kind of a node state served for sync (checkpoint meta). */
export const STATE_KIND = 'tapestry-state'

/** when an announce is published again (after the first publish) while its round is open */
const ANNOUNCE_REPUBLISH_MS = [1_000, 3_000, 7_000]

export interface Libp2pTransportOptions {
  host: TapestryHost
  runId: string
  layout: ParamLayout
  /** where blobs this node made or fetched go, tagged with their round so old ones can be collected */
  blobs: { put: (bytes: Uint8Array, round: number, known?: BlobCid) => unknown }
  /** local training: null when this node does not train that round */
  train: (round: number, params: Float32Array, steps: number) => Promise<TrainResult | null>
  /** the peers to ask first when syncing, most advanced first (from presence) */
  peersAhead: () => string[]
  log: Logger
  /** blob fetch and chain request timeout @default 10_000 */
  timeoutMs?: number
  /** fetch large blobs over bulk transfer connections where providers offer them (blob.md §7) */
  bulk?: BulkFetchOptions
  /** bytes this node put on the wire by gossip (for the operator's counters) */
  onGossipBytes?: (bytes: number) => void
  /** a commit was received: its round (timing) */
  onCommitReceived?: (msg: Commit) => void
  /** an announce was received (timing, presence) */
  onAnnounceReceived?: (msg: Announce, from: string) => void
  /** one author signed two different commits for one round: both envelopes (evidence) */
  onEquivocation?: (first: Uint8Array, second: Uint8Array, commit: Commit) => void
}

export class Libp2pRoundTransport implements RoundTransport {
  private driver: Pick<RoundDriver, 'receive' | 'round'> | undefined
  private readonly timers = new WallTimers()
  private readonly unsubscribe: Array<() => void> = []
  /** signed bytes of commits seen or made, so the chain store keeps what was signed */
  private readonly signed = new Map<string, Uint8Array>()
  /**
   * the signed bytes of each commit object this transport decoded or made: the engine applies those
   * very objects, so their bytes are found however many other commits went by (no eviction)
   */
  private readonly signedOf = new WeakMap<Commit, Uint8Array>()
  /** the first signed commit of each (round, author) seen: a second, different one is equivocation */
  private readonly firstCommit = new Map<string, Uint8Array>()
  /** this node's own announces' signatures by update id (proveOwn), the last few rounds */
  private readonly ownProofs = new Map<string, AnnounceProof>()
  /** signed announces by update id (what censorship evidence encloses), bounded */
  private readonly announces = new Map<string, Uint8Array>()

  constructor (private readonly o: Libp2pTransportOptions) {}

  /** Subscribe to the run's topics and hand what arrives to `driver`. */
  attach (driver: Pick<RoundDriver, 'receive' | 'round'>): void {
    this.driver = driver
    const { host, runId } = this.o
    this.unsubscribe.push(subscribeAnnounce(host, (msg, info) => {
      if (!this.announces.has(msg.updateId)) {
        this.announces.set(msg.updateId, info.bytes)
        if (this.announces.size > MAX_KEPT) this.announces.delete(this.announces.keys().next().value as string)
      }
      this.o.onAnnounceReceived?.(msg, info.from)
      driver.receive({ type: 'announce', msg, proof: proofFromEnvelope(info.bytes, msg) })
    }, { validate: m => m.runId === runId && m.round >= driver.round - 1 ? 'accept' : 'ignore' }))
    this.unsubscribe.push(subscribeCommit(host, (msg, info) => {
      this.keepSigned(msg, info.bytes)
      this.watchEquivocation(msg, info.bytes)
      this.o.onCommitReceived?.(msg)
      driver.receive({ type: 'commit', msg })
    }, { validate: m => m.runId === runId ? 'accept' : 'ignore' }))
    this.unsubscribe.push(subscribeSubAggregate(host, msg => {
      driver.receive({ type: 'subAggregate', msg })
    }, { validate: m => m.runId === runId && m.round >= driver.round - 1 ? 'accept' : 'ignore' }))
  }

  /** The signed envelope of an announce this node received, by update id (bounded: recent rounds). */
  signedAnnounce (updateId: string): Uint8Array | undefined {
    return this.announces.get(updateId)
  }

  private watchEquivocation (c: Commit, bytes: Uint8Array): void {
    const key = `${c.round}/${c.aggregator}`
    const first = this.firstCommit.get(key)
    if (first == null) {
      this.firstCommit.set(key, bytes)
      if (this.firstCommit.size > MAX_KEPT) this.firstCommit.delete(this.firstCommit.keys().next().value as string)
      return
    }
    if (!equals(first, bytes)) this.o.onEquivocation?.(first, bytes, c)
  }

  /** The signed envelope of a commit this node saw or made (for the chain store). */
  signedCommit (c: Commit): Uint8Array | undefined {
    return this.signedOf.get(c) ?? this.signed.get(commitKey(c))
  }

  close (): void {
    // pending wakes are dropped, and later ones ignored
    this.timers.close()
    for (const u of this.unsubscribe.splice(0)) u()
  }

  now (): number { return Date.now() }

  at (at: number, fn: () => void): void {
    this.timers.at(at, fn)
  }

  async publish (out: OutgoingMessage): Promise<void> {
    const { host } = this.o
    try {
      switch (out.type) {
        case 'announce': {
          const r = await publishAnnounce(host, out.msg)
          this.keepOwnProof(out.msg.updateId, proofFromEnvelope(r.bytes, out.msg))
          this.countGossip(r.bytes.length, r.recipients)
          this.o.log.info({ round: out.msg.round, update: out.msg.updateId, size: out.msg.size }, 'announced update')
          this.republishWhileOpen(out.msg)
          return
        }
        case 'subAggregate': {
          this.proveOwn(out.msg.included)
          const r = await publishSubAggregate(host, out.msg)
          this.countGossip(r.bytes.length, r.recipients)
          this.o.log.info({ round: out.msg.round, group: out.msg.group, rank: out.msg.rank, included: out.msg.included.length }, 'folded group')
          return
        }
        case 'commit': {
          this.proveOwn(out.msg.included)
          const bytes = await encodeCommit(out.msg, host.privateKey, host.peerId)
          this.keepSigned(out.msg, bytes)
          const n = await republish(host, 'commit', bytes)
          this.countGossip(bytes.length, n)
          this.o.log.info({ round: out.msg.round, rank: out.msg.rank, included: out.msg.included.length }, 'committed round')
        }
      }
    } catch (err) {
      // gossip is best effort: peers pull a commit they missed and candidates fall back to backups
      this.o.log.warn({ err: (err as Error).message, kind: out.type }, 'publish failed')
    }
  }

  async putBlob (id: string, bytes: Uint8Array, _kind: BlobKind, round: number): Promise<void> {
    // the bytes are the engine's own (id = their digest) or fetched here (checked against id): not hashed again
    await this.o.blobs.put(bytes, round, parseBlobCid(id))
  }

  fetchBlob (id: string, providers: readonly string[], _kind: BlobKind, done: (r: FetchResult) => void): void {
    const maxBytes = this.o.layout.total * 8 + (1 << 20)
    fetchBlob(this.o.host, id, providers, { maxBytes, timeoutMs: this.o.timeoutMs ?? 10_000, bulk: this.o.bulk })
      .then(bytes => done({ ok: true, bytes, checked: true }), err => done({ ok: false, reason: fetchFailure(err) }))
  }

  train (round: number, params: Float32Array, steps: number, done: (r: TrainResult | null) => void): void {
    this.o.train(round, params, steps).then(done, err => {
      this.o.log.error({ err }, 'local training failed')
      done(null)
    })
  }

  sync (fromRound: number, done: (offer: SyncOffer | null, failure?: string) => void, peer?: string): void {
    // a peer on another branch (fork choice) need not be ahead
    const peers = peer != null ? [peer] : this.o.peersAhead()
    if (peers.length === 0) { done(null); return }
    const layout = this.o.layout
    catchUp(this.o.host, peers, { fromRound, maxModelBytes: layout.total * 8 + (1 << 20), timeoutMs: this.o.timeoutMs ?? 10_000, bulk: this.o.bulk })
      .then(r => {
        if (r.commits.length === 0 || r.modelBytes == null) { done(null); return }
        const state = decodeState(r.modelBytes, layout)
        if (state == null) { done(null, `peer ${r.peer} sent a blob that is not a node state`); return }
        // only commits this node may still apply: a long chain (fork choice asks from far back) must not
        // push out the signed bytes of commits gossip just brought (the chain store needs them)
        for (const c of r.commits) {
          this.signedOf.set(c.message, c.bytes)
          if (c.message.round >= (this.driver?.round ?? 0) - 1) this.keepSigned(c.message, c.bytes)
        }
        done({ from: r.peer, commits: r.commits.map(c => ({ commit: c.message, signed: c.bytes })), state })
      }, err => {
        const failures = (err as { failures?: unknown }).failures
        this.o.log.debug({ err: (err as Error).message, failures }, 'sync request failed')
        done(null, (err as Error).message)
      })
  }

  pullCommit (peer: string, round: number, done: (commits: ChainCommit[]) => void): void {
    requestChain(this.o.host, peer, { fromRound: round, maxCommits: 1, timeoutMs: 5_000 })
      .then(page => {
        const commits = page.commits.filter(c => c.message.round === round)
        for (const c of commits) this.keepSigned(c.message, c.bytes)
        if (commits.length > 0) this.o.log.info({ round, from: peer }, 'commit pulled from a peer (missed in gossip)')
        done(commits.map(c => ({ commit: c.message, signed: c.bytes })))
      }, err => {
        this.o.log.debug({ err: (err as Error).message, round, from: peer }, 'commit pull failed')
        done([])
      })
  }

  private keepOwnProof (updateId: string, proof: AnnounceProof): void {
    this.ownProofs.set(updateId, proof)
    if (this.ownProofs.size > 64) this.ownProofs.delete(this.ownProofs.keys().next().value as string)
  }

  /**
   * This node's own update in a commit or group fold it publishes gets its announce signature
   * here: the engine took it from training, not from gossip, so only the transport holds it. The
   * entries are the message's own objects, so the engine's copy (and the chain store) carry it too.
   */
  private proveOwn (included: IncludedUpdate[]): void {
    for (const u of included) {
      if (u.peerId !== this.o.host.peerId || u.announced != null) continue
      const proof = this.ownProofs.get(u.updateId)
      if (proof != null) u.announced = proof
    }
  }

  private keepSigned (c: Commit, bytes: Uint8Array): void {
    this.signedOf.set(c, bytes)
    this.signed.set(commitKey(c), bytes)
    // bounded: commits of rounds long applied are in the chain store already
    if (this.signed.size > 1024) this.signed.delete(this.signed.keys().next().value as string)
  }

  private countGossip (bytes: number, recipients: number): void {
    this.o.onGossipBytes?.(bytes * Math.max(1, recipients))
  }

  /**
   * Copies of an announce while its round is still open: a peer whose subscription we did not
   * know at the first publish (it just started or synced) would otherwise never see it, since
   * gossipsub drops identical bytes as a duplicate (protocols/gossip.md, "Republishing").
   */
  private republishWhileOpen (msg: Announce): void {
    ANNOUNCE_REPUBLISH_MS.forEach((ms, i) => this.at(Date.now() + ms, () => {
      if (this.driver?.round !== msg.round) return
      publishAnnounce(this.o.host, { ...msg, attempt: i + 1 })
        .then(r => this.countGossip(r.bytes.length, r.recipients))
        .catch(err => { this.o.log.debug({ err }, 'announce not republished') })
    }))
  }
}

/** how many signed announces and first commits are kept (a few rounds' worth) */
const MAX_KEPT = 4096

/** A node's state as the blob peers sync from: params, outer momentum, electorate. */
export function encodeState (state: ChainState, layout: ParamLayout): Uint8Array {
  const vectors: Record<string, Float32Array> = { params: state.params }
  if (state.outer.velocity != null) vectors.velocity = state.outer.velocity
  return encodeCheckpoint({
    layout: layoutToString(layout),
    // `banned` only when some member was: states of runs without equivocation keep their bytes
    meta: { kind: STATE_KIND, round: state.round, modelId: state.modelId, outerStep: state.outer.step, electorate: state.electorate, ...((state.banned?.length ?? 0) > 0 ? { banned: state.banned } : {}) },
    vectors
  })
}

/**
 * The state a peer offers, its chain unchecked (checkSyncOffer checks that); null when the blob is
 * not a well-formed state (protocols/sync.md §4): the checkpoint's checksum and layout, the kind,
 * integer round and outer step, a non-empty electorate of distinct peers with capacities > 0, a
 * `params` vector and at most a `velocity` beside it, each of the layout's length. A hostile peer's
 * blob without params, or with a momentum of another length, would otherwise throw deep in the
 * round engine after it was adopted.
 */
export function decodeState (bytes: Uint8Array, layout: ParamLayout): ChainState | null {
  let ck
  try { ck = decodeCheckpoint(bytes, layout) } catch { return null }
  const meta = ck.meta as { kind?: unknown, round?: unknown, modelId?: unknown, outerStep?: unknown, electorate?: unknown, banned?: unknown }
  if (meta.kind !== STATE_KIND || !isCount(meta.round) || typeof meta.modelId !== 'string' || !isCount(meta.outerStep)) return null
  if (!Array.isArray(meta.electorate) || meta.electorate.length === 0) return null
  const seen = new Set<string>()
  const electorate: ChainState['electorate'] = []
  for (const m of meta.electorate as unknown[]) {
    const { peerId, capacity } = (m ?? {}) as { peerId?: unknown, capacity?: unknown }
    if (typeof peerId !== 'string' || peerId === '' || seen.has(peerId) || typeof capacity !== 'number' || !Number.isFinite(capacity) || capacity <= 0) return null
    seen.add(peerId)
    electorate.push({ peerId, capacity })
  }
  const { params, velocity, ...other } = ck.vectors
  if (params?.length !== layout.total || (velocity != null && velocity.length !== layout.total) || Object.keys(other).length > 0) return null
  const state: ChainState = { round: meta.round, modelId: meta.modelId, params, outer: { step: meta.outerStep, velocity: velocity ?? null }, electorate }
  if (meta.banned !== undefined) {
    if (!Array.isArray(meta.banned) || meta.banned.length === 0 || !meta.banned.every(p => typeof p === 'string' && p !== '')) return null
    state.banned = meta.banned as string[]
  }
  return state
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

/** A failed fetch in words, with each provider's own message (the summary has their codes only). */
function fetchFailure (err: unknown): string {
  if (!(err instanceof FetchError) || err.failures.length === 0) return (err as Error).message
  return `${err.message}: ${err.failures.map(f => f.message).join('; ')}`
}
