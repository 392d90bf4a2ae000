import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_SIM_CONFIG, applySetting, validateSimConfig, type SimConfig } from '../../src/sim/config.js'
import { Simulation } from '../../src/sim/sim.js'
import { SyntheticBackend } from '../../src/sim/backend.js'
import { parseComparison } from '../../src/sim/experiment.js'
import { SimError } from '../../src/sim/errors.js'
import { AggregateError, AggregateErrorCode } from '../../src/aggregate/index.js'
import { FOLD_FALLBACK } from '../../src/round/index.js'

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

test('hierarchical mode with churn completes', async () => {
  const r = await simulate({ ...base, mode: 'hierarchical', groupSize: 3, rounds: 6, leavePerHour: 600, joinPerHour: 3600 })
  assert.equal(r.completedRounds, 6)
})

test('churn: nodes leave and rejoin, the run still completes', async () => {
  const r = await simulate({ ...base, rounds: 6, leavePerHour: 600, joinPerHour: 3600 })
  assert.equal(r.completedRounds, 6)
})

test('bad settings are refused before anything runs', () => {
  const refused = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof Error && (e as SimError).code != null && pattern.test(e.message))
  }
  refused(() => applySetting(base, 'topology', 'hypercube'), /hypercube/)
  refused(() => validateSimConfig({ ...base, backups: 12 }), /backups/)
  refused(() => applySetting(base, 'leave-rate', '-1'), /leave-rate/)
  refused(() => applySetting(base, 'loss', '1.5'), /loss/)
  refused(() => applySetting(base, 'mode', 'carrier-pigeon'), /mode/)
  refused(() => applySetting(base, 'group-size', '1'), /group-size/)
  refused(() => applySetting(base, 'sub-aggregate-codec', 'gzip'), /./)
  refused(() => applySetting(base, 'codec', 'topk:2+q4'), /./)
  refused(() => applySetting(base, 'frobnicate', '1'), /unknown setting/)
  refused(() => parseComparison(base, 'codec'), /--compare/)
  refused(() => parseComparison(base, 'backups=1,40'), /backups/)
  refused(() => validateSimConfig({ ...base, crashRounds: [9] }), /crash round/)
})

test('a fold rule no round can satisfy is refused before anything runs (ERR_AGG_RULE_INFEASIBLE)', () => {
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
