// The daemon's Prometheus metrics: libp2p's own (through @libp2p/prometheus-metrics, same registry)
// and Tapestry's, fed from the round driver's typed events — nothing here reads log text.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ReachabilityReport } from '../net/index.js'
import type { DriverEvent } from '../round/index.js'

export class NodeMetrics {
  readonly registry = new Registry()
  private readonly round = new Gauge({ name: 'tapestry_round', help: 'the round this node works on next (last applied + 1)', registers: [this.registry] })
  private readonly loss = new Gauge({ name: 'tapestry_loss', help: 'test loss of the global model after the last applied round', registers: [this.registry] })
  private readonly accuracy = new Gauge({ name: 'tapestry_accuracy', help: 'test accuracy of the global model (classifiers)', registers: [this.registry] })
  private readonly bitsPerByte = new Gauge({ name: 'tapestry_bits_per_byte', help: 'held-out bits per byte of the global model (language models)', registers: [this.registry] })
  private readonly bytes = new Counter({ name: 'tapestry_bytes_total', help: 'bytes on the wire by direction and kind (gossip, update, aggregate, subaggregate, state)', labelNames: ['direction', 'kind'], registers: [this.registry] })
  private readonly refused = new Counter({ name: 'tapestry_refused_total', help: 'messages and blobs refused by the round engine, by what and refusal code', labelNames: ['what', 'code'], registers: [this.registry] })
  private readonly accepted = new Counter({ name: 'tapestry_updates_included_total', help: 'updates included in the commits this node applied', registers: [this.registry] })
  private readonly commitLatency = new Histogram({ name: 'tapestry_commit_latency_seconds', help: 'round start to the applied commit, on this node', buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80], registers: [this.registry] })
  private readonly elections = new Counter({ name: 'tapestry_commits_authored_total', help: 'rounds this node committed, by its rank (0 = elected aggregator)', labelNames: ['rank'], registers: [this.registry] })
  private readonly verified = new Counter({ name: 'tapestry_commits_applied_total', help: 'commits applied, by how this node checked them (full, groups, aggregate, self)', labelNames: ['verified'], registers: [this.registry] })
  private readonly forks = new Counter({ name: 'tapestry_forks_total', help: 'fork choices made: adopted another branch, or kept this one', labelNames: ['outcome'], registers: [this.registry] })
  private readonly epsilon = new Gauge({ name: 'tapestry_privacy_epsilon', help: 'differential privacy ε spent by this node at the run\'s δ (absent when off)', registers: [this.registry] })
  private readonly banned = new Gauge({ name: 'tapestry_members_excluded', help: 'members excluded for equivocation (proven on the chain)', registers: [this.registry] })
  private readonly reachable = new Gauge({ name: 'tapestry_reachability', help: 'how this node is reached: 1 on the current state (public, relayed, private, unreachable)', labelNames: ['state'], registers: [this.registry] })
  private readonly paths = new Gauge({ name: 'tapestry_connections', help: 'open connections to peers by path (direct, relayed, direct-after-relay)', labelNames: ['path'], registers: [this.registry] })
  private readonly relayingFor = new Gauge({ name: 'tapestry_relay_reservations_served', help: 'members holding a relay reservation on this node', registers: [this.registry] })
  private startedAt = new Map<number, number>()

  /** One driver event: the counters and gauges it moves. */
  onDriverEvent (e: DriverEvent): void {
    switch (e.type) {
      case 'roundStarted':
        this.round.set(e.round)
        this.startedAt.set(e.round, e.at)
        if (this.startedAt.size > 64) this.startedAt.delete(this.startedAt.keys().next().value as number)
        break
      case 'applied': {
        this.verified.inc({ verified: e.verified })
        this.accepted.inc(e.commit.included.length)
        this.banned.set(e.state.banned?.length ?? 0)
        const t0 = this.startedAt.get(e.commit.round)
        if (t0 != null) this.commitLatency.observe(Math.max(0, e.at - t0) / 1000)
        break
      }
      case 'committed': this.elections.inc({ rank: String(e.rank) }); break
      case 'refused': this.refused.inc({ what: e.what, code: e.code }); break
      case 'fetched': if (e.ok) this.bytes.inc({ direction: 'in', kind: e.kind }, e.bytes); break
      case 'announced': this.bytes.inc({ direction: 'out', kind: 'update' }, e.size); break
      case 'forkChosen': this.forks.inc({ outcome: e.adopted ? 'adopted' : 'kept' }); break
    }
  }

  /** How the node is reached and how its connections run (ReachabilityWatch's report). */
  reachability (r: ReachabilityReport): void {
    for (const state of ['public', 'relayed', 'private', 'unreachable'] as const) this.reachable.set({ state }, r.reachability === state ? 1 : 0)
    for (const [path, n] of Object.entries(r.connections)) this.paths.set({ path }, n)
    this.relayingFor.set(r.relayingFor ?? 0)
  }

  /** Gossip this node put on the wire (bytes × recipients). */
  gossipOut (bytes: number): void { this.bytes.inc({ direction: 'out', kind: 'gossip' }, bytes) }

  /** Blob bytes this node served to peers since the last call. */
  served (bytes: number): void { if (bytes > 0) this.bytes.inc({ direction: 'out', kind: 'blob' }, bytes) }

  /** The evaluation of the model after a round. */
  evaluated (e: { loss: number | null, accuracy: number | null, bitsPerByte?: number | null, epsilon?: number }): void {
    if (e.loss != null) this.loss.set(e.loss)
    if (e.accuracy != null) this.accuracy.set(e.accuracy)
    if (e.bitsPerByte != null) this.bitsPerByte.set(e.bitsPerByte)
    if (e.epsilon != null) this.epsilon.set(e.epsilon)
  }

  async text (): Promise<{ contentType: string, body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
