import type { ConnectionPath, ReachabilityReport } from '../net/index.js'
// What the control API answers, typed once for the daemon that serves it and the CLI that reads it.
import type { CatalogEntry } from '../net/catalog.js'

export interface RoundHistory {
  round: number
  aggregator: string
  rank: number
  included: number
  modelId: string
  verified: string
  loss: number | null
  accuracy: number | null
  /** language models: held-out bits per byte (on the daemon's fixed sample of held-out windows) */
  bitsPerByte?: number | null
  /** this node's bytes on the wire so far (gossip published + blobs fetched) */
  bytes: number
  /** what the same transfers would have cost as dense fp32 updates */
  bytesDense: number
  at: number
  /** differential privacy: ε this node had spent when the round was applied (absent when off) */
  epsilon?: number
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

export interface PeerView {
  peerId: string
  addrs: string[]
  latencyMs: number | null
  /** e.g. "aggregator", "backup 1", "member, group 2 sub-aggregator" */
  role: string
  /** the last round this peer applied, as its presence says (-1: unknown) */
  round: number
  connected: boolean
  /** how the connection to this peer runs: direct, through a relay, or direct after a hole punch (null when not connected) */
  path: ConnectionPath | null
}

export interface ModelView {
  /** content id of the state blob peers can sync from (null before the first one is written) */
  cid: string | null
  /** the last round applied */
  round: number
  modelId: string
  params: number
  layout: string
}

/** What the membership gates refused since start: non-member connections, gossip, protocol streams. */
export interface RefusedView { connections: number, gossip: number, streams: number, /** gossip past a per-author or per-relayer budget */ gossipRate: number }

export interface StatusView {
  peerId: string
  runId: string
  /** the manifest's human name of the run */
  runName: string
  /** no round trains with fewer than the manifest's minimum of members connected: how many are here while waiting, else null */
  waiting: { members: number, minMembers: number } | null
  refused: RefusedView
  round: number
  aggregator: string | null
  role: string
  /** members a commit on the chain proved to have equivocated: excluded for good */
  banned: string[]
  /** the status page and Prometheus metrics (/metrics) on 127.0.0.1, null before they listen */
  opsUrl: string | null
  device: string
  addrs: string[]
  /** how this node is reached: public, relayed (through which relays), private; its addresses by kind */
  reachability: ReachabilityReport
  peers: PeerView[]
  model: ModelView
  bytes: { sent: number, fetched: number, gossip: number, served: number }
  /** bulk transfers served (blob.md §7): the port, ranges sent, their bytes, handshakes refused; null when off */
  bulk: BulkView | null
  lastRound: RoundHistory | null
  /** node-side differential privacy: ε spent at the run's δ over this node's releases; null when off */
  privacy: PrivacyView | null
}

export interface BulkView { port: number, transfers: number, bytes: number, refused: number }

export interface PrivacyView { epsilon: number, delta: number, releases: number, clipNorm: number, noiseMultiplier: number }

/** The response body of each control route. */
export interface ControlResponses {
  status: StatusView
  peers: { peers: PeerView[] }
  rounds: { rounds: RoundHistory[] }
  model: ModelView
  stop: { stopping: boolean }
  /** POST a signed admission or membership change: checked, kept, gossiped to the members */
  membership: { verdict: 'new' | 'known', recipients: number }
  /**
   * POST { peers, ms }: cut this node off from `peers` for `ms` (a gater-driven network partition,
   * for fault tests; answered only by a daemon started with TAPESTRY_TEST_PARTITION=1)
   */
  partition: { until: number }
  /** the run's data catalog: each member's signed record from the DHT, and the members without one */
  catalog: { entries: CatalogEntry[], missing: string[] }
}

export type ControlRoute = keyof ControlResponses
