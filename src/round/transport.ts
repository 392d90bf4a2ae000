// The narrow world the round driver runs in: publish, blobs, clock and timers, training, sync.
// Three implementations exist — libp2p (daemon), the modelled network (simulator), in memory
// (tests) — and one conformance suite (test/round/conformance.ts) holds them to the same behaviour.
import type { Announce, Commit, SubAggregate } from './messages.js'
import type { BlobKind, ChainState } from './types.js'

/** A gossip message with the peers that act on it (others may still receive it). */
export type OutgoingMessage =
  | { type: 'announce', msg: Announce, audience: readonly string[] }
  | { type: 'commit', msg: Commit }
  | { type: 'subAggregate', msg: SubAggregate, audience: readonly string[] }

/**
 * A fetch's outcome. `checked`: the transport itself verified that `bytes` are the content `id`
 * names (exactly what RoundDeps.digest would say), so the engine does not hash them a second time.
 */
export type FetchResult = { ok: true, bytes: Uint8Array, checked?: boolean } | { ok: false, reason: string }

export interface TrainResult { params: Float32Array, samples: number }

/** A commit as it travels in a chain: the message and, where the transport signs, its signed bytes. */
export interface ChainCommit { commit: Commit, signed?: Uint8Array }

/**
 * What a peer offers a node that syncs from it: its chain from the node's round on and the state
 * it claims that chain ends in. Nothing in it is trusted before checkSyncOffer.
 */
export interface SyncOffer { from: string, commits: ChainCommit[], state: ChainState }

export interface RoundTransport {
  /** the transport's clock in ms (wall clock in the daemon, virtual in the simulator) */
  now: () => number
  /**
   * run `fn` at time `at` on that clock (or at once if it passed), never before now() reaches it:
   * the engine asks once per wake time and takes an early tick as "not yet"
   */
  at: (at: number, fn: () => void) => void
  /** gossip a message to the run (the daemon signs it) */
  publish: (out: OutgoingMessage) => void | Promise<void>
  /** keep a blob this node made or fetched so it can serve it, tagged with its round for collection */
  putBlob: (id: string, bytes: Uint8Array, kind: BlobKind, round: number) => void | Promise<void>
  /** fetch a content-addressed blob from one of `providers`; `done` exactly once */
  fetchBlob: (id: string, providers: readonly string[], kind: BlobKind, done: (r: FetchResult) => void) => void
  /** H local steps from `params`; `done(null)` when this node does not train that round (run over, stopping) */
  train: (round: number, params: Float32Array, steps: number, done: (r: TrainResult | null) => void) => void
  /**
   * ask the peers ahead (or `peer`, when given: one on another branch) for their chain from
   * `fromRound` and their state; null when none is ahead or reachable
   */
  sync: (fromRound: number, done: (offer: SyncOffer | null, failure?: string) => void, peer?: string) => void
  /** ask `peer` for its commit of `round` (one missed in gossip); `done([])` when it has none */
  pullCommit: (peer: string, round: number, done: (commits: ChainCommit[]) => void) => void
}
