// What a round computes from the blobs a node holds: the fold of updates or of group folds, the
// bytes of an aggregate or a group fold, the update screen, an update's author, and the
// recomputation of a commit. Pure functions of the run's settings, the layout and the blobs: the
// candidate that folds and every member that checks its commit call the same ones, so both derive
// the same bits.
import type { ParamLayout } from '../tensor/index.js'
import { equals } from 'uint8arrays'
import { encodeUpdate, decodeUpdate, readUpdateMeta, updateNorm } from '../compress/index.js'
import { screenByNorm, type OuterState } from '../aggregate/index.js'
import type { RoundConfig } from './config.js'
import type { Commit, IncludedUpdate, SubAggregateRef } from './messages.js'
import type { BlobKind, ChainState, RoundDeps } from './types.js'
import type { commitGroups } from './validate.js'
import { aggregateUpdates, outerStep, modelBytes } from './fold.js'

/** The run's settings, the layout, and the blobs a node holds this round by id. */
export interface RoundBlobs {
  cfg: RoundConfig
  layout: ParamLayout
  blobs: ReadonlyMap<string, Uint8Array>
}

/** Δ̄ over the included updates with the run's rule, decoding each blob when the fold reaches it. */
export function foldUpdates (b: RoundBlobs, included: readonly IncludedUpdate[]): Float32Array {
  return aggregateUpdates(b.cfg.rule, included.map(u => ({ id: u.updateId, samples: u.samples })),
    id => decodeUpdate(b.blobs.get(id)!, b.layout).vector, b.layout.total)
}

/**
 * The hierarchical root fold: the sample-weighted mean of the group folds (each weighted by its
 * updates' samples), so with the mean rule it equals the flat mean up to the group codec's error.
 * A robust rule (median, Krum, …) acts inside each group.
 */
export function foldGroupFolds (b: RoundBlobs, groups: ReadonlyArray<{ id: string, samples: number }>): Float32Array {
  return aggregateUpdates({ rule: { kind: 'mean' } }, groups, id => decodeUpdate(b.blobs.get(id)!, b.layout).vector, b.layout.total)
}

/** The aggregate's bytes: a pure function of Δ̄ and the round, so members recompute them bit for bit. */
export function aggregateBytes (b: RoundBlobs, delta: Float32Array, round: number): Uint8Array {
  return encodeUpdate(b.cfg.aggregateCodec, delta, b.layout, { seed: round }).bytes
}

/** A group fold's bytes: a pure function of the fold, the group and the round (so it is recomputable). */
export function groupFoldBytes (b: RoundBlobs, delta: Float32Array, group: number, round: number): Uint8Array {
  return encodeUpdate(b.cfg.subAggregateCodec, delta, b.layout, { seed: group, round }).bytes
}

/**
 * The update screen (fold.md §2): an update whose blob does not decode, or whose L2 norm is over
 * maxNormRatio × the median norm of `set`, is refused. A pure function of the blobs, so verifiers
 * recompute it from a commit's included and refused updates. Keeps `set`'s order.
 */
export function screenUpdates (b: RoundBlobs, set: IncludedUpdate[]): { kept: IncludedUpdate[], refused: IncludedUpdate[] } {
  const norms = set.map(u => {
    try { return updateNorm(b.blobs.get(u.updateId)!, b.layout) } catch { return Number.NaN }
  })
  const out = screenByNorm(norms, b.cfg.maxNormRatio)
  return { kept: set.filter((_, i) => !out[i]), refused: set.filter((_, i) => out[i]) }
}

/**
 * Whether an update blob's envelope names `peerId` as its author and `round` as its round. An
 * undecodable blob passes: the fold refuses it (the engine drops it as undecodable).
 */
export function authoredBy (layout: ParamLayout, bytes: Uint8Array, peerId: string, round: number): boolean {
  let meta
  try { meta = readUpdateMeta(bytes, layout) } catch { return true }
  return meta.round === BigInt(round) && meta.peer !== undefined && equals(meta.peer, new TextEncoder().encode(peerId))
}

/** How a commit is checked before it is applied, and the blobs that takes (the engine's checkOf). */
export interface CommitCheck {
  how: 'full' | 'groups' | 'aggregate'
  needs: Array<{ id: string, providers: string[], kind: BlobKind }>
  /** hierarchical sub-candidates: their own group's fold, refolded from its updates */
  mine: { ref: SubAggregateRef, updates: IncludedUpdate[] } | undefined
  /** hierarchical: the commit's updates by group, with the samples behind each group's fold (its weight in the root fold) */
  groups: ReturnType<typeof commitGroups> | undefined
}

export type Recomputed =
  | { ok: true, params: Float32Array, state: OuterState, aggregate?: Uint8Array }
  | { ok: false, reason: string }

/**
 * Recomputes commit `c` on top of `chain` from the blobs `check` needs (all held); a mismatch in
 * any bit rejects it. `aggregate`: the aggregate's bytes where this node re-encoded them (it can
 * serve them then).
 */
export function recomputeCommit (b: RoundBlobs, chain: ChainState, c: Commit, check: CommitCheck, digest: RoundDeps['digest']): Recomputed {
  const blob = (id: string): Uint8Array => b.blobs.get(id)!
  const foreign = [...(check.how === 'full' ? c.included : []), ...(check.mine?.updates ?? [])]
    .find(u => !authoredBy(b.layout, blob(u.updateId), u.peerId, chain.round))
  if (foreign != null) return { ok: false, reason: `update ${foreign.updateId} is not ${foreign.peerId}'s update of round ${c.round}` }
  const misSized = (check.how === 'full' ? c.included : []).find(u => u.size !== blob(u.updateId).length)
  if (misSized != null) return { ok: false, reason: `update ${misSized.updateId} is ${blob(misSized.updateId).length} bytes, the commit says ${String(misSized.size)}` }
  if (check.how === 'full' && check.groups == null) {
    // the screen, recomputed over what the commit folded and what it says the screen refused
    const refusedIds = (c.excluded ?? []).filter(e => e.reason === 'refused')
    const pool = [...c.included, ...refusedIds.map(e => ({ updateId: e.updateId, peerId: e.peerId, samples: 1, capacity: 1 }))]
    const again = new Set(screenUpdates(b, pool).refused.map(u => u.updateId))
    if (again.size !== refusedIds.length || refusedIds.some(e => !again.has(e.updateId))) return { ok: false, reason: 'the update screen refuses other updates than the commit says' }
  }
  let applied: Float32Array
  let aggregate: Uint8Array | undefined
  try {
    if (check.mine != null) {
      const bytes = groupFoldBytes(b, foldUpdates(b, check.mine.updates), check.mine.ref.group, c.round)
      if (digest(bytes) !== check.mine.ref.subAggregateId) return { ok: false, reason: `group ${check.mine.ref.group}'s fold does not match its included updates` }
    }
    let delta: Float32Array | undefined
    if (check.how === 'full') delta = foldUpdates(b, c.included)
    else if (check.how === 'groups') delta = foldGroupFolds(b, (c.subAggregates ?? []).map(s => ({ id: s.subAggregateId, samples: check.groups!.get(s.group)!.samples })))
    if (delta == null) applied = decodeUpdate(blob(c.aggregateId), b.layout).vector
    else if (b.cfg.mode === 'gossip') applied = delta
    else {
      const bytes = aggregateBytes(b, delta, c.round)
      if (digest(bytes) !== c.aggregateId) return { ok: false, reason: `aggregate does not match the included ${check.how === 'groups' ? 'group folds' : 'updates'}` }
      applied = decodeUpdate(bytes, b.layout).vector
      aggregate = bytes
    }
  } catch (err) {
    return { ok: false, reason: `inputs do not decode: ${(err as Error).message}` }
  }
  const next = outerStep(b.cfg.outer, chain.params, chain.outer, applied)
  if (digest(modelBytes(next.params)) !== c.newModelId) return { ok: false, reason: 'recomputed model differs from the committed one' }
  return { ok: true, params: next.params, state: next.state, aggregate }
}
