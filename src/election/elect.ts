// Who aggregates round r: members ranked by rendezvous score, the top one aggregates, the next k back it up.
import { ElectionError, ElectionErrorCode } from './errors.js'
import { digestTicket, rendezvousDigest, seedHasher, weightedScore, type ElectionSeed } from './score.js'

export interface Member {
  readonly peerId: string
  /**
   * Declared capacity (e.g. relative bandwidth × compute): a member with twice the
   * capacity is elected twice as often.
   * @default 1
   */
  readonly capacity?: number
}

export interface ElectionInput extends ElectionSeed {
  /** the live members of the round; their order does not matter */
  readonly members: readonly Member[]
  /** how many backups to list after the aggregator; must be below the member count */
  readonly backups: number
}

export interface RankedMember {
  readonly peerId: string
  /** 0 = aggregator, i = backup i */
  readonly rank: number
  /** the 52-bit rendezvous ticket (uniform, exact) */
  readonly ticket: number
  /** −capacity / ln(u); higher ranks first */
  readonly score: number
  readonly capacity: number
}

/**
 * Every member ranked for this round, best first. A pure function of the seed and the
 * member set, so every node derives the same list without exchanging a message.
 *
 * When all capacities are equal (the usual case) members are ordered by their integer
 * tickets, which is exact on any machine; only genuinely weighted elections compare
 * floating-point scores. Ties (equal tickets or scores) go to the smaller peer id
 * (UTF-16 code unit order, which is byte order for the ASCII ids libp2p uses).
 */
export function rankMembers (seed: ElectionSeed, members: readonly Member[]): RankedMember[] {
  checkSeed(seed)
  if (members.length === 0) throw new ElectionError(ElectionErrorCode.NoMembers, 'cannot elect from an empty member list')
  const seen = new Set<string>()
  const prefix = seedHasher(seed)
  let weighted = false
  const firstCapacity = members[0].capacity ?? 1
  const rows = members.map(m => {
    if (typeof m.peerId !== 'string' || m.peerId.length === 0) {
      throw new ElectionError(ElectionErrorCode.BadInput, 'peer id must be a non-empty string', String(m.peerId))
    }
    if (seen.has(m.peerId)) throw new ElectionError(ElectionErrorCode.DuplicatePeer, `peer ${m.peerId} is listed twice`, m.peerId)
    seen.add(m.peerId)
    const capacity = m.capacity ?? 1
    if (typeof capacity !== 'number' || !Number.isFinite(capacity) || capacity <= 0) {
      throw new ElectionError(ElectionErrorCode.BadCapacity, `peer ${m.peerId} declares capacity ${String(capacity)}; it must be a finite number > 0`, m.peerId)
    }
    if (capacity !== firstCapacity) weighted = true
    const ticket = digestTicket(rendezvousDigest(prefix, m.peerId))
    return { peerId: m.peerId, ticket, capacity, score: weightedScore(ticket, capacity) }
  })
  rows.sort((a, b) => {
    const d = weighted ? b.score - a.score : b.ticket - a.ticket
    if (d !== 0) return d
    return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0
  })
  return rows.map((r, rank) => ({ ...r, rank }))
}

/**
 * [aggregator, backup 1, …, backup k] for the round. A backup takes the round only when
 * no valid commit has arrived by the previous candidate's deadline (see schedule.ts).
 */
export function electAggregators (input: ElectionInput): string[] {
  const { backups, members } = input
  if (!Number.isInteger(backups) || backups < 0) {
    throw new ElectionError(ElectionErrorCode.BadInput, `backup count must be a non-negative integer, got ${backups}`)
  }
  if (members.length > 0 && backups >= members.length) {
    throw new ElectionError(ElectionErrorCode.TooManyBackups, `${backups} backups need at least ${backups + 1} members, have ${members.length}`)
  }
  return rankMembers(input, members).slice(0, backups + 1).map(r => r.peerId)
}

function checkSeed (seed: ElectionSeed): void {
  if (typeof seed.runId !== 'string' || seed.runId.length === 0) throw new ElectionError(ElectionErrorCode.BadInput, 'run id must be a non-empty string')
  if (typeof seed.prevModelId !== 'string') throw new ElectionError(ElectionErrorCode.BadInput, 'previous model id must be a string')
  if (!Number.isSafeInteger(seed.round) || seed.round < 0) throw new ElectionError(ElectionErrorCode.BadInput, `round must be a non-negative safe integer, got ${seed.round}`)
}
