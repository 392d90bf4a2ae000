// The node's view of who belongs to its run (manifest + roster at the current round) and the gates
// built on it: which peers may connect, whose gossip reaches the engine, which membership
// documents are kept. Documents are checked against the manifest and saved before they count.
import type { Logger } from 'pino'
import { verifyRosterDoc, ManifestError, type Roster, type RosterDoc, type SignedManifest } from '../manifest/index.js'
import type { DocVerdict, GossipGate } from '../net/index.js'
import type { Announce, Commit, SubAggregate } from '../round/messages.js'
import { saveRosterDoc } from './run-files.js'
import type { DataDirPaths } from './datadir.js'

export interface RunMembersDeps {
  manifest: SignedManifest
  roster: Roster
  paths: DataDirPaths
  now: () => number
  log?: Logger
}

export class RunMembers {
  /** the round the node is at; set by the node once its driver exists */
  round: () => number = () => 0
  /** called after a new document changed who may connect (the node drops removed peers) */
  onChange: (doc: RosterDoc) => void = () => {}
  private readonly d: RunMembersDeps
  /** peers this node is cut off from, until when (a test partition: partition()) */
  private readonly cut = new Map<string, number>()

  constructor (d: RunMembersDeps) { this.d = d }

  get manifest (): SignedManifest { return this.d.manifest }
  get runId (): string { return this.d.manifest.runId }
  get minMembers (): number { return this.d.manifest.body.minMembers }

  /** The connection gater's rule: members now, and peers admitted from a later round. */
  mayConnect (peerId: string): boolean {
    return !this.isCut(peerId) && this.d.roster.mayConnect(peerId, this.round())
  }

  /** Refuse `peers` (connections, streams, their gossip) until `until` (ms since the epoch): a network partition for fault tests. */
  partition (peers: readonly string[], until: number): void {
    for (const p of peers) this.cut.set(p, until)
  }

  private isCut (peerId: string): boolean {
    const until = this.cut.get(peerId)
    if (until === undefined) return false
    if (this.d.now() < until) return true
    this.cut.delete(peerId)
    return false
  }

  /** The members of the current round (peer ids). */
  current (): string[] {
    return this.d.roster.membersAt(this.round()).map(m => m.peerId)
  }

  isMember (peerId: string, round: number): boolean {
    return this.d.roster.isMember(peerId, round)
  }

  /** A member's election weight: the manifest's (or its admission's, 1), never what a message claims. */
  capacityOf (peerId: string, round = this.round()): number {
    return this.d.roster.capacityOf(peerId, round)
  }

  /** What a member may claim in `round` (the engine's RoundDeps.limits): the roster's capacity and samples; undefined for a non-member. */
  readonly limitsOf = (peerId: string, round: number): { capacity: number, samples: number } | undefined => this.d.roster.limitsOf(peerId, round)

  /** A weight claim is exactly the roster's (a member of `round`, its capacity and samples). */
  private claimOk (peerId: string, round: number, capacity: number, samples: number): boolean {
    const l = this.limitsOf(peerId, round)
    return l !== undefined && l.capacity === capacity && l.samples === samples
  }

  /** Each included update's peer a member of `round`, with the weights the manifest gives it. */
  private includedOk (included: ReadonlyArray<{ peerId: string, capacity: number, samples: number }>, round: number): boolean {
    return included.every(u => this.claimOk(u.peerId, round, u.capacity, u.samples))
  }

  /** How many of `peers` (plus this node, `self`) are members of the current round. */
  membersAmong (self: string, peers: Iterable<string>): number {
    const r = this.round()
    const seen = new Set<string>([self, ...peers])
    let n = 0
    for (const p of seen) if (this.d.roster.isMember(p, r)) n++
    return n
  }

  /** Gossip authored by non-members is rejected (scored) before any topic validator or the engine sees it. */
  readonly gossipGate: GossipGate = (kind, message, from) => {
    if (this.isCut(from)) return 'ignore' // relayed by a third peer across the partition
    switch (kind) {
      case 'presence': return this.mayConnect(from) ? 'accept' : 'reject'
      case 'announce': {
        // the weights an announce carries are the manifest's: an inflated claim (a take-over) is refused
        const a = message as Announce
        return this.claimOk(from, a.round, a.capacity, a.samples) ? 'accept' : 'reject'
      }
      case 'subAggregate': {
        const g = message as SubAggregate
        return this.isMember(from, g.round) && this.includedOk(g.included, g.round) ? 'accept' : 'reject'
      }
      case 'commit': {
        const c = message as Commit
        // a commit that folds a non-member's update carries the outsider's data into the model
        return this.isMember(from, c.round) && this.includedOk(c.included, c.round) ? 'accept' : 'reject'
      }
      default: return 'reject'
    }
  }

  /** Every document held (for a member that asks). */
  list (): unknown[] {
    return this.d.roster.all().map(d => d.doc)
  }

  /** Check a received document against the manifest, save it, and only then let it count. */
  readonly accept = async (value: unknown, from: string): Promise<DocVerdict> => {
    let doc: RosterDoc
    try {
      doc = await verifyRosterDoc(this.d.manifest, value, this.d.now())
    } catch (err) {
      this.d.log?.warn({ from, code: err instanceof ManifestError ? err.code : undefined }, `membership document refused: ${(err as Error).message}`)
      return 'invalid'
    }
    if (this.d.roster.has(doc)) return 'known'
    await saveRosterDoc(this.d.paths, doc)
    if (!this.d.roster.add(doc)) return 'known'
    const at = doc.kind === 'admission' ? doc.doc.validFromRound ?? 0 : doc.doc.effectiveRound
    this.d.log?.info({ from, peer: doc.doc.peerId, op: doc.kind === 'admission' ? 'admit' : doc.doc.op, round: at, signer: doc.doc.signer }, 'membership changed')
    this.onChange(doc)
    return 'new'
  }
}
