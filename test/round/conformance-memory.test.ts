// The conformance suite over the in-memory transport (virtual time, instant delivery).
import { Harness } from './harness.js'
import { conformance, type Outcome } from './conformance.js'
import { electionRank, type DriverEvent } from '../../src/round/index.js'

conformance('in memory', async (nodes, rounds, faults) => {
  const dead = new Set<string>()
  let liar: string | undefined
  const drop = { peer: '', round: 0 }
  const h = new Harness({
    nodes,
    dead,
    tamper: c => c.aggregator === liar && c.round === 0 ? { ...c, newModelId: 'f'.repeat(64) } : c,
    dropCommit: drop
  })
  const aggregator0 = electionRank(h.cfg.runId, 0, h.genesis.modelId, h.genesis.electorate)[0]
  const o: Outcome = { peers: h.peers, applied: new Map(), events: new Map() }
  if (faults.deadAggregator === true) { dead.add(aggregator0); o.dead = aggregator0 }
  if (faults.lyingAggregator === true) { liar = aggregator0; o.liar = aggregator0 }
  if (faults.dropCommitToLast === true) o.dropped = drop.peer = h.peers.filter(p => p !== aggregator0).at(-1)!
  h.startAll()
  const applied = (p: string, r: number): boolean => h.engines.get(p)!.round > r
  const live = (): string[] => h.peers.filter(p => h.alive(p) && p !== liar)
  if (faults.lateJoiner === true) {
    h.runUntil(() => live().every(p => applied(p, 1)))
    o.late = h.addNode()
    h.start(o.late, true)
  }
  h.runUntil(() => live().every(p => applied(p, rounds - 1)))
  for (const p of h.peers) {
    const events = h.events.filter(x => x.peer === p).map(x => x.e)
    o.events.set(p, events)
    o.applied.set(p, events.flatMap((e: DriverEvent) => e.type === 'applied' ? [{ round: e.commit.round, modelId: e.state.modelId, verified: e.verified, rank: e.commit.rank }] : []))
  }
  return o
})
