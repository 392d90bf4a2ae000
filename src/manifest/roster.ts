// Who belongs to a run at a round: the manifest's founding members, then admissions and membership
// changes applied in one deterministic order. Pure: every node holding the same checked documents
// answers every question the same way, whatever order the documents arrived in.
import { compare } from 'uint8arrays'
import { canonicalBytes } from './canonical.js'
import { verifyAdmission } from './admission.js'
import { verifyMembershipChange } from './membership.js'
import type { Admission, Member, MembershipChange, SignedManifest } from './schema.js'

/** A checked document that moves a peer into or out of the run at a round. */
export type RosterDoc = { kind: 'admission', doc: Admission } | { kind: 'change', doc: MembershipChange }

interface Step {
  round: number
  bytes: Uint8Array
  op: 'add' | 'remove'
  peerId: string
  capacity: number
  samples: number | undefined
}

/** An admission is an `add` of capacity 1 (and no declared samples) at its first valid round (0 when it has none). */
function stepOf (d: RosterDoc): Step {
  if (d.kind === 'admission') return { round: d.doc.validFromRound ?? 0, bytes: canonicalBytes(d.doc), op: 'add', peerId: d.doc.peerId, capacity: 1, samples: undefined }
  return { round: d.doc.effectiveRound, bytes: canonicalBytes(d.doc), op: d.doc.op, peerId: d.doc.peerId, capacity: d.doc.capacity ?? 1, samples: d.doc.samples }
}

/** Key of a document: its canonical bytes (signature included) as hex, so a copy is one entry. */
export function rosterKey (d: RosterDoc): string {
  return Buffer.from(canonicalBytes(d.doc)).toString('hex')
}

export class Roster {
  private readonly docs = new Map<string, RosterDoc>()
  /** the documents as ordered steps; rebuilt on the first query after an add (a start-up load adds thousands) */
  private ordered: Step[] | null = []

  constructor (readonly manifest: SignedManifest, docs: Iterable<RosterDoc> = []) {
    for (const d of docs) this.add(d)
  }

  /**
   * Adds a document already checked against the manifest (verifyAdmission / verifyMembershipChange);
   * returns false for one held already. Order: by round, then canonical bytes — the rule of
   * protocols/manifest.md §5, with an admission standing for an add at its validFromRound.
   */
  add (d: RosterDoc): boolean {
    const key = rosterKey(d)
    if (this.docs.has(key)) return false
    this.docs.set(key, d)
    this.ordered = null
    return true
  }

  /** Is this document (or an identical copy) held already? */
  has (d: RosterDoc): boolean {
    return this.docs.has(rosterKey(d))
  }

  private get steps (): Step[] {
    this.ordered ??= [...this.docs.values()].map(stepOf).sort((a, b) => a.round - b.round || compare(a.bytes, b.bytes))
    return this.ordered
  }

  all (): RosterDoc[] { return [...this.docs.values()] }

  /** The members of `round`, sorted by peer id. */
  membersAt (round: number): Member[] {
    const members = new Map<string, Member>(this.manifest.body.members.map(m => [m.peerId, m]))
    for (const s of this.steps) {
      if (s.round > round) break
      if (s.op === 'add') members.set(s.peerId, s.samples === undefined ? { peerId: s.peerId, capacity: s.capacity } : { peerId: s.peerId, capacity: s.capacity, samples: s.samples })
      else members.delete(s.peerId)
    }
    return [...members.values()].sort((a, b) => a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
  }

  /**
   * What `peerId` may claim in `round` (the round engine's MemberLimits): its capacity and its
   * fold weight (declared samples, 1 when the roster declares none); undefined for a non-member.
   */
  limitsOf (peerId: string, round: number): { capacity: number, samples: number } | undefined {
    const m = this.membersAt(round).find(x => x.peerId === peerId)
    return m === undefined ? undefined : { capacity: m.capacity, samples: m.samples ?? 1 }
  }

  /** Is `peerId` a member in `round`? */
  isMember (peerId: string, round: number): boolean {
    let member = this.manifest.body.members.some(m => m.peerId === peerId)
    for (const s of this.steps) {
      if (s.round > round) break
      if (s.peerId === peerId) member = s.op === 'add'
    }
    return member
  }

  /**
   * May `peerId` connect while the run is at `round`? Members of that round, and peers that become
   * members later (admitted from a future round: they need the chain before they take part).
   */
  mayConnect (peerId: string, round: number): boolean {
    if (this.isMember(peerId, round)) return true
    const steps = this.steps
    const last = steps.length > 0 ? steps[steps.length - 1].round : 0
    return last > round && this.isMember(peerId, last)
  }

  /** The capacity `peerId` has in `round` (1 for a peer that is not a member). */
  capacityOf (peerId: string, round: number): number {
    return this.membersAt(round).find(m => m.peerId === peerId)?.capacity ?? 1
  }
}

/**
 * Check a document of unknown kind against the manifest: an admission (it has no `op`) or a
 * membership change. Throws what verifyAdmission / verifyMembershipChange throw. An admission's
 * expiry is checked at `now`: an expired one admits no one it has not admitted already.
 */
export async function verifyRosterDoc (manifest: SignedManifest, value: unknown, now: number): Promise<RosterDoc> {
  if (value != null && typeof value === 'object' && 'op' in value) return { kind: 'change', doc: await verifyMembershipChange(manifest, value) }
  return { kind: 'admission', doc: await verifyAdmission(manifest, value, { now, members: manifest.body.members.map(m => m.peerId) }) }
}
