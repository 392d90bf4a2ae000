// The contribution ledger: who contributed accepted updates in which rounds, with samples and
// bytes, read from the signed commit chain alone — so anyone holding the chain can check it.
import { decodeCommit } from '../net/index.js'
import type { Commit } from '../round/index.js'
import { DaemonError, DaemonErrorCode } from './errors.js'
import type { StoredCommit } from './chain-store.js'

export interface Contribution {
  peerId: string
  /** rounds in which a commit on the chain included an update of this member */
  rounds: number
  firstRound: number
  lastRound: number
  /** Σ samples (fold weights) of its included updates */
  samples: number
  /** Σ bytes of its included updates (commits record each update's size) */
  bytes: number
  /** included updates whose commit predates sizes: their bytes are not in `bytes` */
  unsized: number
  /** rounds this member committed as aggregator (or backup) */
  aggregated: number
}

export interface Ledger {
  runId: string | null
  /** the chain's rounds, first to last (empty chain: null) */
  rounds: { first: number, last: number } | null
  commits: number
  members: Contribution[]
}

/**
 * The ledger of a stored chain. Each commit is taken from its signed bytes (decoded and its
 * signature verified, never from the JSON beside them), and consecutive commits must link
 * (round + 1, prev model = the previous new model); throws ERR_DAEMON_STORE_CORRUPT otherwise.
 */
export async function ledgerOf (chain: readonly StoredCommit[], runId?: string): Promise<Ledger> {
  const byPeer = new Map<string, Contribution>()
  let prev: Commit | undefined
  for (const [i, s] of chain.entries()) {
    let c: Commit
    try {
      c = (await decodeCommit(Buffer.from(s.signed, 'base64'), runId != null ? { runId } : {})).message
    } catch (err) {
      throw new DaemonError(DaemonErrorCode.StoreCorrupt, `commit ${i} of the chain does not verify: ${(err as Error).message}`)
    }
    if (prev != null && (c.round !== prev.round + 1 || c.prevModelId !== prev.newModelId)) {
      throw new DaemonError(DaemonErrorCode.StoreCorrupt, `commit of round ${c.round} does not follow round ${prev.round}'s`)
    }
    prev = c
    const entry = (peerId: string): Contribution => {
      let e = byPeer.get(peerId)
      if (e == null) { e = { peerId, rounds: 0, firstRound: -1, lastRound: -1, samples: 0, bytes: 0, unsized: 0, aggregated: 0 }; byPeer.set(peerId, e) }
      return e
    }
    entry(c.aggregator).aggregated++
    for (const u of c.included) {
      const e = entry(u.peerId)
      e.rounds++
      if (e.firstRound < 0) e.firstRound = c.round
      e.lastRound = c.round
      e.samples += u.samples
      if (u.size != null) e.bytes += u.size
      else e.unsized++
    }
  }
  const members = [...byPeer.values()].sort((a, b) => b.rounds - a.rounds || (a.peerId < b.peerId ? -1 : 1))
  const first = chain.length > 0 ? (await decodeCommit(Buffer.from(chain[0].signed, 'base64'))).message : undefined
  return { runId: first?.runId ?? null, rounds: first != null && prev != null ? { first: first.round, last: prev.round } : null, commits: chain.length, members }
}
