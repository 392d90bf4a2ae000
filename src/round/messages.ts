// The round protocol's messages as plain values: what gossip carries (presence, announce,
// commit) regardless of transport. net/ maps them to protobuf (protocols/*.proto) and signs them.

/** A member says it is alive, where it stands and how much it can do. */
export interface Presence {
  runId: string
  peerId: string
  /** last round whose commit this peer applied (-1: none yet) */
  round: number
  /** id of the model it holds */
  modelId: string
  /** declared relative capacity for weighted election (1 = default) */
  capacity: number
  /** transport only: publisher's counter that makes each periodic presence distinct (absent = 0) */
  seq?: number
}

/** A member offers its compressed update for a round. */
export interface Announce {
  runId: string
  round: number
  peerId: string
  /** content id of the update blob (CID string) */
  updateId: string
  /** the global model the update was computed from (M_r) */
  baseModelId: string
  /** training examples behind the update: its weight in the fold */
  samples: number
  /** codec spec, e.g. "topk:0.01+q2" (also inside the blob) */
  codec: string
  /** blob size in bytes */
  size: number
  /** declared relative capacity, carried into the commit for next round's weighted election */
  capacity: number
  /**
   * transport only: republish counter (absent or 0 the first time). The engine keeps a peer's
   * first announce of a round, so a copy changes nothing.
   */
  attempt?: number
}

export interface IncludedUpdate {
  updateId: string
  peerId: string
  samples: number
  capacity: number
  /** the update blob's bytes (the contribution ledger counts them); absent in older commits */
  size?: number
  /** the author's signature of its announce of this update (AnnounceProof); absent where the includer held none */
  announced?: AnnounceProof
}

/**
 * An author's signature of its announce, kept with the update it announced: the announce's
 * signed bytes follow from the included update, the run's codec and the including message's round
 * and base model (protocols/gossip.md §3, "Announce proofs"), so the signature alone shows the
 * author built on that model.
 */
export interface AnnounceProof {
  /** the Signed envelope's signature (Ed25519: 64 bytes) */
  signature: Uint8Array
  /** the announce's republish counter (part of its signed bytes) */
  attempt: number
}

/** Why a commit leaves out an update it saw announced (protocols/gossip.md §5). */
export type ExclusionReason = 'late' | 'unfetchable' | 'refused'

export interface ExcludedUpdate {
  updateId: string
  peerId: string
  reason: ExclusionReason
}

/** The aggregator (or a backup) closes a round. */
export interface Commit {
  runId: string
  round: number
  /** author of the commit */
  aggregator: string
  /** 0 = elected aggregator, i = i-th backup */
  rank: number
  prevModelId: string
  /** sorted by updateId: the deterministic fold order */
  included: IncludedUpdate[]
  newModelId: string
  /** content id of the compressed aggregate (aggregator/hierarchical modes); '' when members fold themselves */
  aggregateId: string
  /** hierarchical mode: the group folds the aggregate was made of, by group; absent otherwise */
  subAggregates?: SubAggregateRef[]
  /** updates seen announced but left out, with why, sorted by update id; absent when none */
  excluded?: ExcludedUpdate[]
  /** proofs of equivocation this commit carries: their accused leave the electorate for good; absent when none */
  equivocations?: EquivocationProof[]
}

/**
 * Two signed commits of one author for one round that differ. `first` and `second` are the signed
 * envelopes (what travels); `accused` and `round` are what the net layer derived from them after
 * verifying both signatures — never read from the wire — so the engine can trust them.
 */
export interface EquivocationProof {
  first: Uint8Array
  second: Uint8Array
  accused: string
  round: number
}

/** Hierarchical mode: a group's sub-aggregator (or a sub-backup) offers the fold of its group. */
export interface SubAggregate {
  runId: string
  round: number
  group: number
  /** author: the group's candidate of rank `rank` */
  aggregator: string
  rank: number
  /** the global model the folded updates were computed from (M_r) */
  baseModelId: string
  /** content id of the compressed group fold */
  subAggregateId: string
  /** the group's updates in the fold, sorted by updateId */
  included: IncludedUpdate[]
  /** blob size in bytes */
  size: number
}

/** A sub-aggregate as a commit lists it; its updates are the commit's included updates of that group. */
export interface SubAggregateRef {
  group: number
  subAggregateId: string
  aggregator: string
  rank: number
}
