// Rendezvous scores: a per-(run, round, previous model, peer) hash that every node computes alike.
// node:crypto hashing is pure computation, no I/O; it is the one node: import election/ allows.
import { createHash, type Hash } from 'node:crypto'

/**
 * Domain tag hashed first, so these digests can never collide with another use of
 * SHA-256 over similar fields. Bump the version to change the election function.
 */
export const ELECTION_DOMAIN = 'tapestry/election/v1'

/** What makes one round's election differ from every other's. */
export interface ElectionSeed {
  /** run id (hash of the run manifest) */
  readonly runId: string
  /** round number, a non-negative safe integer */
  readonly round: number
  /**
   * content id of the model the round starts from: tying the draw to it means nobody
   * can predict (and grind for) who aggregates round r + 1 before round r is committed
   */
  readonly prevModelId: string
}

const TWO_POW_32 = 4294967296
const TWO_POW_52 = 4503599627370496

/**
 * SHA-256 state after the round's fields; copied per peer so an election over n members
 * hashes the shared prefix once. Every field is length-prefixed, so ("ab", "c") and
 * ("a", "bc") give different digests.
 */
export function seedHasher (seed: ElectionSeed): Hash {
  const h = createHash('sha256')
  putString(h, ELECTION_DOMAIN)
  putString(h, seed.runId)
  const round = Buffer.alloc(8)
  round.writeUInt32BE(Math.floor(seed.round / TWO_POW_32), 0)
  round.writeUInt32BE(seed.round % TWO_POW_32, 4)
  h.update(round)
  putString(h, seed.prevModelId)
  return h
}

/** The 32-byte rendezvous digest of one peer for one round. */
export function rendezvousDigest (seed: ElectionSeed | Hash, peerId: string): Buffer {
  const h = isHash(seed) ? seed.copy() : seedHasher(seed)
  putString(h, peerId)
  return h.digest()
}

/**
 * The first 52 bits of a digest as an integer in [0, 2^52). Comparing these integers is
 * exact, so the unweighted election needs no floating-point function at all.
 */
export function digestTicket (digest: Uint8Array): number {
  const hi = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0
  const lo = ((digest[4] << 12) | (digest[5] << 4) | (digest[6] >>> 4)) >>> 0
  return hi * 1048576 + lo
}

/** A ticket mapped into the open interval (0, 1): (2k + 1) / 2^53, exact in a double. */
export function ticketToUnit (ticket: number): number {
  return (ticket + 0.5) / TWO_POW_52
}

/**
 * Weighted rendezvous score −w / ln(u): the member with the highest score wins with
 * probability w / Σw (it is an exponential race: −ln(u)/w ~ Exp(w), the minimum wins).
 * With w = 1 the order is the order of u.
 *
 * Math.log is not required by ECMAScript to be correctly rounded; V8 uses the same
 * fdlibm port on every platform, and two scores within an ulp of each other are
 * vanishingly rare, which is why equal capacities bypass this (see elect.ts).
 */
export function weightedScore (ticket: number, capacity: number): number {
  return -capacity / Math.log(ticketToUnit(ticket))
}

function putString (h: Hash, s: string): void {
  const b = Buffer.from(s, 'utf8')
  const len = Buffer.alloc(4)
  len.writeUInt32BE(b.length, 0)
  h.update(len)
  h.update(b)
}

function isHash (x: ElectionSeed | Hash): x is Hash {
  return typeof (x as Hash).digest === 'function'
}
