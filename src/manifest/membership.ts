// Membership changes during a run, and the member set of a round that every node computes the same way.
import { compare } from 'uint8arrays'
import { canonicalBytes } from './canonical.js'
import { ManifestError, ManifestErrorCode } from './errors.js'
import { requireAdmin, requireRun } from './invitation.js'
import { MembershipChangeSchema, parseWith, withoutUndefined, type Member, type MembershipChange, type SignedManifest } from './schema.js'
import { signValue, signerOf, verifyValue } from './sign.js'
import type { PrivateKey } from '@libp2p/interface'

export interface ChangeRequest {
  op: 'add' | 'remove'
  peerId: string
  /** the first round whose member set includes (add) or excludes (remove) the peer */
  effectiveRound: number
  /** election weight of an added member; absent means 1 */
  capacity?: number
  /** fold weight of an added member (absent: 1) */
  samples?: number
}

/** A membership change signed by `adminKey`, which must be an admin of the manifest (ERR_MANIFEST_NOT_ADMIN). */
export async function changeMembership (manifest: SignedManifest, request: ChangeRequest, adminKey: PrivateKey): Promise<MembershipChange> {
  const signer = signerOf(adminKey)
  requireAdmin(manifest, signer, 'membership change')
  const unsigned = withoutUndefined({ runId: manifest.runId, op: request.op, peerId: request.peerId, effectiveRound: request.effectiveRound, capacity: request.capacity, samples: request.samples, signer })
  return parseWith(MembershipChangeSchema, { ...unsigned, signature: await signValue('membership', unsigned, adminKey) }, 'membership change')
}

/** Check a membership change: schema, run, admin signer, signature (ERR_MANIFEST_SCHEMA, _WRONG_RUN, _NOT_ADMIN, _SIGNATURE). */
export async function verifyMembershipChange (manifest: SignedManifest, value: unknown): Promise<MembershipChange> {
  const c = parseWith(MembershipChangeSchema, value, 'membership change')
  requireRun(manifest, c.runId, 'membership change')
  requireAdmin(manifest, c.signer, 'membership change')
  const { signature, ...unsigned } = c
  if (!await verifyValue('membership', unsigned, c.signer, signature)) {
    throw new ManifestError(ManifestErrorCode.BadSignature, `membership change: signature does not verify against ${c.signer}`, 'signature')
  }
  return c
}

/**
 * The order in which changes apply: by effectiveRound, then by the bytes of their canonical JSON
 * (signature included), compared byte by byte — a total order that needs no clock and no arrival
 * order, so every node that holds the same set of changes applies them identically.
 */
export function orderChanges (changes: readonly MembershipChange[]): MembershipChange[] {
  return changes.map(c => ({ c, bytes: canonicalBytes(c) }))
    .sort((x, y) => x.c.effectiveRound - y.c.effectiveRound || compare(x.bytes, y.bytes))
    .map(x => x.c)
}

/**
 * The members of `round`: the manifest's founding members, then every change with
 * effectiveRound ≤ round applied in `orderChanges` order (add: the peer is a member with the
 * change's capacity, 1 when absent, replacing an earlier capacity; remove: it is not). Sorted by
 * peer id. Pure and synchronous: pass changes already checked with verifyMembershipChange; the run
 * and the signer's admin rights are checked again here (cheap), signatures are not.
 */
export function membersAt (manifest: SignedManifest, changes: readonly MembershipChange[], round: number): Member[] {
  if (!Number.isSafeInteger(round) || round < 0) throw new ManifestError(ManifestErrorCode.Schema, `round ${round} is not a round number`, 'round')
  const members = new Map<string, Member>(manifest.body.members.map(m => [m.peerId, m]))
  for (const c of orderChanges(changes)) {
    requireRun(manifest, c.runId, 'membership change')
    requireAdmin(manifest, c.signer, 'membership change')
    if (c.effectiveRound > round) break
    if (c.op === 'add') members.set(c.peerId, withoutUndefined({ peerId: c.peerId, capacity: c.capacity ?? 1, samples: c.samples }))
    else members.delete(c.peerId)
  }
  return [...members.values()]
    .sort((a, b) => a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
}
