import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_SIM_CONFIG, applySetting, validateSimConfig, type SimConfig } from '../../src/sim/config.js'
import { Simulation } from '../../src/sim/sim.js'
import { SyntheticBackend } from '../../src/sim/backend.js'
import { parseComparison } from '../../src/sim/experiment.js'
import { SimError, SimErrorCode } from '../../src/sim/errors.js'
import { AggregateError, AggregateErrorCode } from '../../src/aggregate/index.js'
import { FOLD_FALLBACK, toRoundConfig } from '../../src/round/index.js'

const base: SimConfig = { ...DEFAULT_SIM_CONFIG, nodes: 12, rounds: 4, innerSteps: 5, synthetic: true, syntheticParams: 2000, baselines: false, deadlineMs: 4000, collectMs: 2000, evalEvery: 1 }

async function simulate (cfg: SimConfig): Promise<Awaited<ReturnType<Simulation['run']>>> {
  const backend = new SyntheticBackend(cfg.syntheticParams, cfg.seed)
  return await new Simulation(validateSimConfig(cfg), backend).run()
}

test('a seeded run is reproducible: same seed, same commits, same bytes', async () => {
  const a = await simulate(base)
  const b = await simulate(base)
  assert.equal(a.completedRounds, 4)
  assert.deepEqual(a.rounds, b.rounds)
  assert.equal(a.bytesTotal, b.bytesTotal)
  const c = await simulate({ ...base, seed: 2 })
  assert.notDeepEqual(a.rounds.map(r => r.aggregator), c.rounds.map(r => r.aggregator))
})

for (const mode of ['gossip', 'aggregator', 'hierarchical'] as const) {
  for (const topology of ['full', 'ring', 'star', 'regular:4', 'smallworld:4:0.2', 'regions:3:80'] as const) {
    test(`${mode} mode over ${topology} completes every round with every update`, async () => {
      const cfg = applySetting(applySetting({ ...base, mode, groupSize: 4 }, 'topology', topology), 'codec', 'topk:0.05+q4')
      const r = await simulate(cfg)
      assert.equal(r.completedRounds, 4)
      for (const x of r.rounds) { assert.equal(x.included, 12); assert.equal(x.rank, 0) }
    })
  }
}

test('an injected aggregator crash costs one deadline; the backup commits with all live updates', async () => {
  const r = await simulate({ ...base, crashRounds: [2], stragglerSigma: 0 })
  assert.equal(r.completedRounds, 4)
  const crashed = r.rounds.find(x => x.round === 2)!
  assert.equal(crashed.rank, 1, 'the first backup committed round 2')
  assert.equal(crashed.included, 11, 'every live node\'s update included')
  const prev = r.rounds.find(x => x.round === 1)!
  assert.ok(crashed.time - prev.time >= base.deadlineMs / 1000, 'waited for the aggregator deadline')
  assert.ok(crashed.time - prev.time < (base.deadlineMs + base.deadlineMs / 2) / 1000 + 1, 'but not much longer')
})

test('hierarchical mode: a crashed root aggregator costs one deadline, and its group is still folded', async () => {
  const r = await simulate({ ...base, mode: 'hierarchical', groupSize: 4, crashRounds: [2], stragglerSigma: 0 })
  assert.equal(r.completedRounds, 4)
  const crashed = r.rounds.find(x => x.round === 2)!
  assert.equal(crashed.rank, 1, 'the first backup committed round 2')
  assert.equal(crashed.included, 11, 'every live node\'s update included')
  for (const x of r.rounds) assert.equal(x.groups, 3)
})

type Trace = Array<{ what: 'left', node: number, t: number } | { what: 'rejoined', node: number, t: number } | { what: 'train', node: number, round: number }>

/** A run that records, in order, each departure and return (from the log) and each local training. */
async function simulateTraced (cfg: SimConfig): Promise<{ r: Awaited<ReturnType<Simulation['run']>>, trace: Trace }> {
  const trace: Trace = []
  const backend = new SyntheticBackend(cfg.syntheticParams, cfg.seed)
  const train = backend.train.bind(backend)
  backend.train = async (node, round, params, steps) => {
    trace.push({ what: 'train', node, round })
    return await train(node, round, params, steps)
  }
  const log = (msg: string): void => {
    const m = /^([\d.]+)s n(\d+) (left|rejoined)$/.exec(msg)
    if (m != null) trace.push({ what: m[3] === 'left' ? 'left' : 'rejoined', node: Number(m[2]), t: Number(m[1]) })
  }
  const r = await new Simulation(validateSimConfig(cfg), backend, log).run()
  return { r, trace }
}

/**
 * What churn must do, whatever the mode: nodes really leave and come back, an offline node does
 * no work, every round still commits without waiting for the horizon, a round with nodes away
 * includes fewer updates, and a node that came back syncs to the chain (its next training is a
 * round after the last one committed before it returned) and is included again later.
 */
function assertChurnHandled (cfg: SimConfig, r: Awaited<ReturnType<Simulation['run']>>, trace: Trace): void {
  assert.equal(r.completedRounds, cfg.rounds)
  const horizonS = (cfg.rounds * (cfg.innerSteps * cfg.stepMs * 20 + cfg.deadlineMs * (2 + cfg.backups)) + 60_000) / 1000
  assert.ok(r.virtualSeconds < horizonS / 2, `ended when every live node had the last round (${r.virtualSeconds}s), not at the horizon (${horizonS}s)`)
  const lastCommit = r.rounds[r.rounds.length - 1].time
  assert.ok(r.virtualSeconds - lastCommit <= 2 * cfg.deadlineMs / 1000,
    `every live node applied the last round within two deadlines of its commit at ${lastCommit}s (run ended at ${r.virtualSeconds}s)`)
  const left = trace.filter(e => e.what === 'left')
  const rejoined = trace.filter(e => e.what === 'rejoined')
  assert.ok(left.length >= 2, `nodes left (${left.length})`)
  assert.ok(rejoined.length >= 2, `nodes rejoined (${rejoined.length})`)
  assert.ok(r.rounds.some(x => x.included < cfg.nodes), 'some round went without the nodes that were away')

  const online = new Array<boolean>(cfg.nodes).fill(true)
  const returned: Array<{ node: number, t: number }> = []
  // a returner online while two commits went by must have trained in between
  const idleReturner = (x: { node: number, t: number }, until: number): void => {
    const commits = r.rounds.filter(c => c.time > x.t && c.time < until).length
    assert.ok(commits < 2, `node ${x.node} came back at ${x.t}s and stayed while ${commits} rounds committed, but never trained`)
  }
  let caughtUp = 0
  for (const e of trace) {
    if (e.what === 'left') {
      online[e.node] = false
      const back = returned.findIndex(x => x.node === e.node)
      if (back >= 0) idleReturner(returned.splice(back, 1)[0], e.t)
    } else if (e.what === 'rejoined') { online[e.node] = true; returned.push({ node: e.node, t: e.t }) } else {
      assert.ok(online[e.node], `node ${e.node} trained round ${e.round} while offline`)
      const back = returned.findIndex(x => x.node === e.node)
      if (back < 0) continue
      // the first training after a return: at least the round after the last commit it missed
      const t = returned[back].t
      returned.splice(back, 1)
      const committedBefore = Math.max(-1, ...r.rounds.filter(x => x.time < t).map(x => x.round))
      assert.ok(e.round > committedBefore, `node ${e.node} back at ${t}s trained round ${e.round}, but round ${committedBefore} was already committed`)
      if (e.round < cfg.rounds) caughtUp++
    }
  }
  for (const x of returned) idleReturner(x, Infinity)
  assert.ok(caughtUp >= 1, 'a returning node trained on a later round')
}

const churn = { ...base, rounds: 6, leavePerHour: 600, joinPerHour: 3600 }

// A node back within the round it left used to keep that round's stale work and never apply its
// commit; a rejoining node is now a restarted driver on its last state (as a restarted daemon is).
test('hierarchical mode with churn: nodes leave and rejoin, every round commits, returners catch up', async () => {
  const cfg = { ...churn, mode: 'hierarchical' as const, groupSize: 3 }
  const { r, trace } = await simulateTraced(cfg)
  assertChurnHandled(cfg, r, trace)
})

test('churn: nodes leave and rejoin, every round commits, returners catch up', async () => {
  const { r, trace } = await simulateTraced(churn)
  assertChurnHandled(churn, r, trace)
})

test('replayed compute times stand in for stepMs; a downlink makes a node\'s downloads queue at its end', async () => {
  // a collect window longer than any node's work: every round waits for every update
  const even = { ...base, stragglerSigma: 0, stepMs: 200, deadlineMs: 20_000, collectMs: 10_000 }
  const modelled = await simulate(even)
  // 5 steps × 200 ms, replayed as measured: the same run
  const replay = async (cfg: SimConfig, ms: (node: number, round: number) => number | undefined): Promise<Awaited<ReturnType<Simulation['run']>>> =>
    await new Simulation(validateSimConfig(cfg), new SyntheticBackend(cfg.syntheticParams, cfg.seed), undefined, { computeMs: ms }).run()
  assert.deepEqual((await replay(even, () => 1000)).rounds, modelled.rounds)
  assert.deepEqual((await replay(even, () => undefined)).rounds, modelled.rounds, 'undefined keeps the model')
  // node 3 takes 4 s in round 2: that round waits for it (every update is in time)
  const slow = await replay(even, (node, round) => node === 3 && round === 2 ? 4000 : 1000)
  const dur = (r: Awaited<ReturnType<Simulation['run']>>, round: number): number => r.rounds[round].time - r.rounds[round - 1].time
  assert.ok(Math.abs(dur(slow, 2) - dur(modelled, 2) - 3) < 0.1, `round 2: ${dur(slow, 2)} s vs ${dur(modelled, 2)} s`)
  assert.equal(slow.rounds[2].included, 12)
  // gossip mode: every node downloads 11 dense updates of 2 kB; through a 10 kB/s downlink they queue (≥ 2.2 s a round)
  assert.equal(applySetting(even, 'downlink', '0.01').downlinkMBps, 0.01)
  const wide = await simulate({ ...even, codec: 'int8' })
  const narrow = await simulate({ ...even, codec: 'int8', downlinkMBps: 0.01 })
  for (let r = 1; r < 4; r++) assert.ok(dur(narrow, r) > dur(wide, r) + 2, `round ${r} with a 10 kB/s downlink: ${dur(narrow, r)} s vs ${dur(wide, r)} s`)
})

test('bad settings are refused before anything runs', () => {
  /** `field` is the setting the error names (detail.field); undefined where none is named */
  const refused = (fn: () => unknown, code: SimErrorCode, field?: string): void => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof SimError, String(e))
      assert.equal(e.code, code, e.message)
      assert.equal(e.detail.field, field, e.message)
      return true
    })
  }
  refused(() => applySetting(base, 'topology', 'hypercube'), SimErrorCode.TOPOLOGY)
  // more backups than peers are clamped to nodes − 1, as in the daemon (so `--nodes 2` runs)
  assert.equal(toRoundConfig(validateSimConfig({ ...base, backups: 12 }), { runId: 'r', members: base.nodes }).backups, base.nodes - 1)
  refused(() => applySetting(base, 'leave-rate', '-1'), SimErrorCode.CONFIG, 'leavePerHour')
  refused(() => applySetting(base, 'loss', '1.5'), SimErrorCode.CONFIG, 'link.loss')
  refused(() => applySetting(base, 'downlink', '0'), SimErrorCode.CONFIG, 'downlinkMBps')
  refused(() => applySetting(base, 'mode', 'carrier-pigeon'), SimErrorCode.CONFIG, 'mode')
  refused(() => applySetting(base, 'group-size', '1'), SimErrorCode.CONFIG, 'groupSize')
  refused(() => applySetting(base, 'sub-aggregate-codec', 'gzip'), SimErrorCode.CONFIG, 'subAggregateCodec')
  refused(() => applySetting(base, 'codec', 'topk:2+q4'), SimErrorCode.CONFIG, 'codec')
  refused(() => applySetting(base, 'frobnicate', '1'), SimErrorCode.CONFIG, 'frobnicate')
  refused(() => parseComparison(base, 'codec'), SimErrorCode.CONFIG)
  refused(() => parseComparison(base, 'backups=1,-1'), SimErrorCode.CONFIG, 'backups')
  refused(() => validateSimConfig({ ...base, crashRounds: [9] }), SimErrorCode.CONFIG, 'crashRounds')
})

test('a fold rule no round can satisfy is refused before anything runs (ERR_AGGREGATE_RULE_INFEASIBLE)', () => {
  const infeasible = (c: SimConfig): void => {
    assert.throws(() => validateSimConfig(c), (e: unknown) => e instanceof AggregateError && e.code === AggregateErrorCode.RuleInfeasible)
  }
  infeasible(applySetting({ ...base, nodes: 4 }, 'rule', 'krum:2'))
  infeasible(applySetting({ ...base, nodes: 9 }, 'rule', 'trimmed:0.1'))
  infeasible(applySetting({ ...base, mode: 'hierarchical', groupSize: 4 }, 'rule', 'krum:1'))
  assert.doesNotThrow(() => validateSimConfig(applySetting({ ...base, nodes: 7 }, 'rule', 'krum:2')))
})

for (const rule of ['mean', 'median', 'trimmed:0.2', 'krum:1', 'krum:2:3', 'median+clip:median*2']) {
  test(`rule ${rule}: a small synthetic run commits every round with every update, no fallback`, async () => {
    const warnings: string[] = []
    const cfg = applySetting({ ...base, nodes: 8, rounds: 2, stragglerSigma: 0 }, 'rule', rule)
    const r = await new Simulation(validateSimConfig(cfg), new SyntheticBackend(cfg.syntheticParams, cfg.seed), m => warnings.push(m)).run()
    assert.equal(r.completedRounds, 2)
    for (const x of r.rounds) assert.equal(x.included, 8)
    assert.deepEqual(warnings.filter(w => w.includes(FOLD_FALLBACK)), [])
  })
}

test('a crashed aggregator leaves too few updates for krum:1: the backup folds by the median, says so, and the run goes on', async () => {
  const warnings: string[] = []
  const cfg = applySetting({ ...base, nodes: 5, rounds: 3, crashRounds: [1], stragglerSigma: 0 }, 'rule', 'krum:1')
  const r = await new Simulation(validateSimConfig(cfg), new SyntheticBackend(cfg.syntheticParams, cfg.seed), m => warnings.push(m)).run()
  assert.equal(r.completedRounds, 3)
  const crashed = r.rounds.find(x => x.round === 1)!
  assert.equal(crashed.included, 4)
  assert.equal(crashed.rank, 1)
  const fell = warnings.filter(w => w.includes(FOLD_FALLBACK))
  assert.ok(fell.length >= 1, 'the fallback was logged')
  assert.ok(fell.every(w => /"rule":"krum:1","effective":"median","inputs":4/.test(w)), fell.join('\n'))
})

test('hierarchical mode with krum:1 inside groups of 6 completes', async () => {
  const cfg = applySetting({ ...base, mode: 'hierarchical', groupSize: 6, rounds: 2 }, 'rule', 'krum:1')
  const r = await simulate(cfg)
  assert.equal(r.completedRounds, 2)
  for (const x of r.rounds) assert.equal(x.included, 12)
})
