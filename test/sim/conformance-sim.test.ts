// The conformance suite over the simulator's modelled network (virtual time, per-link latency and bandwidth).
import { conformance, type Outcome } from '../round/conformance.js'
import { Simulation, peerName, sha256Hex, type SimFaults } from '../../src/sim/sim.js'
import { SyntheticBackend } from '../../src/sim/backend.js'
import { DEFAULT_SIM_CONFIG, validateSimConfig } from '../../src/sim/config.js'
import { electionRank, modelBytes, type DriverEvent } from '../../src/round/index.js'

conformance('simulated network', async (nodes, rounds, faults) => {
  const total = nodes + (faults.lateJoiner === true ? 1 : 0)
  const cfg = validateSimConfig({ ...DEFAULT_SIM_CONFIG, nodes: total, rounds, innerSteps: 5, synthetic: true, syntheticParams: 500, baselines: false, deadlineMs: 4000, codec: 'fp32', mode: 'gossip', seed: 3 })
  const backend = new SyntheticBackend(cfg.syntheticParams, cfg.seed)
  const peers = Array.from({ length: total }, (_, i) => peerName(i))
  const genesisId = sha256Hex(modelBytes(backend.initialParams()))
  const aggregator0 = electionRank(`sim-${cfg.seed}`, 0, genesisId, peers.map(peerId => ({ peerId, capacity: 1 })))[0]
  const index = (p: string): number => peers.indexOf(p)
  const o: Outcome = { peers: peers.slice(0, nodes), applied: new Map(peers.map(p => [p, []])), events: new Map(peers.map(p => [p, []])) }
  const f: SimFaults = {
    observe: (i: number, e: DriverEvent) => {
      o.events.get(peers[i])!.push(e)
      if (e.type === 'applied') o.applied.get(peers[i])!.push({ round: e.commit.round, modelId: e.state.modelId, verified: e.verified, rank: e.commit.rank })
    }
  }
  if (faults.deadAggregator === true) { o.dead = aggregator0; f.dead = [index(aggregator0)] }
  if (faults.lyingAggregator === true) {
    o.liar = aggregator0
    f.tamperCommit = c => c.aggregator === aggregator0 && c.round === 0 ? { ...c, newModelId: 'f'.repeat(64) } : c
  }
  if (faults.dropCommitToLast === true) {
    o.dropped = o.peers.filter(p => p !== aggregator0).at(-1)!
    f.dropCommit = { node: index(o.dropped), round: 0 }
  }
  if (faults.lateJoiner === true) { o.late = peers[nodes]; f.late = { node: nodes, afterRound: 1 } }
  await new Simulation(cfg, backend, undefined, f).run()
  return o
})
