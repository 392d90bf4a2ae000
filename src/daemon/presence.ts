// Who is alive and where they stand: periodic signed presence, the peer table it fills, and what
// the round driver learns from it (live peers the round also waits for; peers ahead → pull or sync).
import type { Logger } from 'pino'
import type { Presence } from '../round/index.js'

export interface PeerInfo {
  peerId: string
  round: number
  lastSeen: number
  latencyMs: number | null
  /** the last round this peer announced an update for (-1: never) */
  announced?: number
}

/** What presence needs from the world, injected so it can be tested without libp2p. */
export interface PresenceDeps {
  self: string
  runId: string
  capacity: number
  now: () => number
  /** the node's position: the last round it applied and the model it holds */
  position: () => { appliedRound: number, modelId: string }
  publish: (msg: Presence) => Promise<void>
  /** a peer showed where it stands (the driver pulls or syncs) */
  peerAt: (peer: string, appliedRound: number) => void
  /** the live set changed (the driver hands it to the engine) */
  setLive: (live: string[]) => void
  log: Logger
}

export interface PresenceOptions {
  /** how often a presence is published @default 2_000 */
  periodMs?: number
}

export class PresenceTracker {
  readonly peers = new Map<string, PeerInfo>()
  readonly periodMs: number
  private seq = 0

  constructor (private readonly d: PresenceDeps, o: PresenceOptions = {}) {
    this.periodMs = o.periodMs ?? 2_000
  }

  /** A signed presence from `from` arrived. */
  onPresence (msg: Presence, from: string): void {
    this.heardFrom(from).round = msg.round
    this.d.peerAt(from, msg.round)
    this.d.setLive(this.live())
  }

  /** Any signed message from `peerId` says it is alive; an announce for round r says it applied r − 1. */
  onAnnounce (peerId: string, round: number): void {
    const p = this.heardFrom(peerId)
    p.round = Math.max(p.round, round - 1)
    p.announced = Math.max(p.announced ?? -1, round)
  }

  /**
   * Peers heard from within three periods that hold the model this round starts from (or close)
   * and that announced an update in one of the last two rounds: a peer that is present but never
   * contributes must not make every closing candidate wait out its collect window.
   */
  live (): string[] {
    const now = this.d.now()
    const { appliedRound } = this.d.position()
    return [...this.peers.values()]
      .filter(p => now - p.lastSeen < 3 * this.periodMs && p.round >= appliedRound - 1 && (p.announced ?? -1) >= appliedRound - 1)
      .map(p => p.peerId)
  }

  /** Connected peers, most advanced first: whom to ask when syncing. */
  ahead (connected: string[]): string[] {
    const { appliedRound } = this.d.position()
    const round = (id: string): number => this.peers.get(id)?.round ?? -1
    const sorted = [...connected].sort((a, b) => round(b) - round(a))
    return sorted.length > 0 && round(sorted[0]) > appliedRound ? sorted : []
  }

  /** Publish this node's presence now (periodically, and right after applying a commit). */
  async publish (): Promise<void> {
    const { appliedRound, modelId } = this.d.position()
    // seq: distinct bytes each time, or gossipsub would drop the repeat as a duplicate
    this.seq = Math.max(this.seq + 1, this.d.now())
    try {
      await this.d.publish({ runId: this.d.runId, peerId: this.d.self, round: appliedRound, modelId, capacity: this.d.capacity, seq: this.seq })
    } catch (err) { this.d.log.debug({ err }, 'presence not published') }
  }

  info (peerId: string): PeerInfo {
    let p = this.peers.get(peerId)
    if (p == null) { p = { peerId, round: -1, lastSeen: 0, latencyMs: null }; this.peers.set(peerId, p) }
    return p
  }

  private heardFrom (peerId: string): PeerInfo {
    const p = this.info(peerId)
    p.lastSeen = this.d.now()
    return p
  }
}
