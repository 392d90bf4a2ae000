// Events into and actions out of the round state machine, and the chain state it carries.
import type { OuterState } from '../aggregate/index.js'
import type { Announce, AnnounceProof, Commit, EquivocationProof, IncludedUpdate, SubAggregate } from './messages.js'
import type { RefusalCode } from './validate.js'
import type { Rng } from '../tensor/index.js'

export interface Member { peerId: string, capacity: number }

/**
 * What the run's roster (the signed manifest and its membership documents) lets a member claim in
 * a round: its election capacity and its fold weight. Messages must carry exactly these, so no
 * self-declared number can outweigh the others.
 */
export interface MemberLimits {
  capacity: number
  /** the fold weight of the member's update (declared in the manifest; 1 = equal weights) */
  samples: number
}

/** What a node knows for certain after applying a commit: enough to run the next round. */
export interface ChainState {
  /** the round this node works on next (0 = first round after genesis) */
  round: number
  /** id of the global model θ_round (digest of its float32 bytes) */
  modelId: string
  params: Float32Array
  /** outer optimizer state (momentum); a deterministic function of the commit chain */
  outer: OuterState
  /** who may be elected this round: the peers included in the previous commit */
  electorate: Member[]
  /**
   * members proven to have signed two commits for one round (a commit carried the proof): never
   * again in an electorate, their updates refused; sorted, absent when none
   */
  banned?: string[]
}

export type RoundEvent =
  | { type: 'start' }
  | { type: 'tick' }
  | { type: 'trained', round: number, params: Float32Array, samples: number }
  /** `proof`: its author's signature (the transport's, where it signs), which the update carries into commits */
  | { type: 'announce', msg: Announce, proof?: AnnounceProof }
  /** `checked`: the transport verified that the bytes hash to `id` (FetchResult), so the engine does not again */
  | { type: 'blob', id: string, bytes: Uint8Array, checked?: boolean }
  | { type: 'blobFailed', id: string, reason: string }
  | { type: 'commit', msg: Commit }
  /** hierarchical mode: a group's fold offered by its sub-aggregator */
  | { type: 'subAggregate', msg: SubAggregate }
  /** peers known to be alive and on this round (presence): the round also waits for them */
  | { type: 'peers', live: string[] }
  /** a late joiner (or a node that fell behind) jumped to a state fetched from peers */
  /** `rewind`: fork choice moved this node to another branch, possibly at a round it passed already */
  | { type: 'synced', state: ChainState, rewind?: boolean }

/**
 * How an applied commit was checked: 'full' refolded from every update, 'groups' refolded from the
 * group folds (hierarchical root candidates), 'aggregate' the committed aggregate applied, 'self' authored.
 */
export type VerifiedBy = 'full' | 'groups' | 'aggregate' | 'self'

/** What a refusal was about. */
export type RefusedKind = 'announce' | 'commit' | 'sub-aggregate' | 'blob'

export type BlobKind = 'update' | 'aggregate' | 'subaggregate'

export type RoundAction =
  | { type: 'train', round: number, params: Float32Array, steps: number }
  | { type: 'putBlob', id: string, bytes: Uint8Array, kind: BlobKind }
  | { type: 'publishAnnounce', msg: Announce }
  /** `round`: the round the blob belongs to when it is not the current one (fetched early) */
  | { type: 'fetch', id: string, providers: string[], kind: BlobKind, round?: number }
  | { type: 'publishCommit', msg: Commit }
  | { type: 'publishSubAggregate', msg: SubAggregate }
  | { type: 'applied', commit: Commit, state: ChainState, verified: VerifiedBy }
  /** a valid-looking commit for a later round arrived: this node must sync */
  | { type: 'behind', round: number, from: string }
  | { type: 'wake', at: number }
  /** as the responsible candidate: the round's set is closed (updates, or group folds in hierarchical mode) */
  | { type: 'closed', round: number, rank: number, included: number, groups?: number }
  /** as a sub-candidate (hierarchical): my group's fold is out */
  | { type: 'groupFolded', round: number, group: number, rank: number, included: number }
  /** a message or blob was refused; `from` is its author */
  /** `commit`: the refused commit itself, when one was (what evidence is made of) */
  | { type: 'refused', what: RefusedKind, code: RefusalCode, severity: 'ignore' | 'reject', reason: string, from: string, round: number, commit?: Commit, updateId?: string }
  | { type: 'log', level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown> }

/** Pure helpers the engine needs but must not implement with I/O. */
export interface RoundDeps {
  /** this node's peer id */
  self: string
  /** content id of bytes (a CID string in the daemon); must be collision-resistant */
  digest: (bytes: Uint8Array) => string
  /**
   * Ranked candidates for a round; defaults to election/. A simulator may pass a memoised
   * version (the function is pure, so memoising changes nothing but speed).
   */
  rank?: (runId: string, round: number, prevModelId: string, members: Member[]) => string[]
  /**
   * The noise source of node-side differential privacy for a round (needed when the config has
   * `privacy`): secret and fresh in the daemon, seeded in the simulator so runs reproduce.
   */
  noise?: (round: number) => Rng
  /**
   * Whether an update a commit includes carries its author's signature of its announce on the
   * commit's base model (protocols/gossip.md §3, "Announce proofs"): what fork choice counts as
   * having built a branch. Absent where nothing is signed (the simulator, tests): every listed peer
   * counts.
   */
  announceProven?: (c: Commit, u: IncludedUpdate) => boolean
  /**
   * Equivocation proofs this node holds (verified by the net layer), for its next commit to carry:
   * their accused leave the electorate for good from the round after
   */
  equivocations?: () => EquivocationProof[]
  /**
   * The roster's word on `peerId` in `round`; undefined: not a member (its messages are refused).
   * Absent: claims are taken as sent (engine unit tests; runs without a roster).
   */
  limits?: (peerId: string, round: number) => MemberLimits | undefined
}
