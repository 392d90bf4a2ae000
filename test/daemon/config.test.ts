// The node's config extends the run settings: defaults, typed errors naming the field, old files, and the same RoundConfig as the simulator.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { configFromEnv, loadNodeConfig, parseNodeConfig } from '../../src/daemon/config.js'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DaemonError, DaemonErrorCode } from '../../src/daemon/errors.js'
import { DEFAULT_SIM_CONFIG, applySetting, validateSimConfig } from '../../src/sim/config.js'
import { RUN_DEFAULTS, RUN_SETTING_KEYS, toRoundConfig, type RunSettingKey } from '../../src/round/index.js'

const PEER = '12D3KooWGRUVh2tmsL1xbxRxjomzkJRLKANpCYs5XEYdLmWJBXGr'

test('a node config takes every run setting default from the schema', () => {
  const c = parseNodeConfig({})
  for (const k of RUN_SETTING_KEYS) assert.deepEqual(c[k], RUN_DEFAULTS[k], k)
  assert.deepEqual(c.listen, ['/ip4/127.0.0.1/tcp/0'])
  assert.equal(c.partition, 'iid')
})

test('a bad node config field is one DaemonError naming the field', () => {
  for (const [patch, field] of [
    [{ codec: 'zip' }, 'codec'],
    [{ quorum: 2 }, 'quorum'],
    [{ deadlineMs: 4000, collectMs: 5000 }, 'collectMs'],
    [{ shard: 3, shards: 2 }, 'shard'],
    [{ shardz: 1 }, 'shardz'],
    [{ members: [PEER] }, 'members']
  ] as const) {
    assert.throws(() => parseNodeConfig({ ...patch }, 'config.json'), (err: unknown) => {
      assert.ok(err instanceof DaemonError)
      assert.equal(err.code, DaemonErrorCode.BadConfig)
      assert.equal(err.field, field)
      return true
    })
  }
})

test('a config.json written before the shared schema still parses, with its own values (run id and members now live in the manifest)', () => {
  const old = {
    listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, controlPort: 0, device: 'auto', model: 'mlp', data: 'mnist',
    partition: 'iid', shards: 1, shard: 0, seed: 1, innerSteps: 50, batch: 32, innerLr: 0.001, codec: 'topk:0.03+q4', aggregateCodec: 'int8',
    mode: 'gossip', groupSize: 16, subAggregateCodec: 'int8', rule: 'mean', outerLr: 1, outerMomentum: 0.6, deadlineMs: 20000, collectMs: 8000,
    backupStepMs: 8000, quorum: 0.75, backups: 2, maxRounds: 0, keepRounds: 3
  }
  const c = parseNodeConfig(old)
  const r = toRoundConfig(c, { runId: 'r1', members: 1 })
  assert.equal(r.codec, 'topk:0.03+q4')
  assert.equal(r.collectMs, 8000)
  assert.equal(r.backupStepMs, 8000)
  assert.equal(r.backups, 0, 'clamped to members − 1')
})

test('the daemon and the simulator map the same settings to the same RoundConfig', () => {
  const settings: Partial<Record<RunSettingKey, string | number>> = {
    innerSteps: 20, batch: 64, codec: 'topk:0.02+q2', aggregateCodec: 'fp16', mode: 'hierarchical', groupSize: 4, subAggregateCodec: 'q4',
    rule: 'median', outerLr: 0.8, outerMomentum: 0.5, backups: 3, deadlineMs: 12_000, backupStepMs: 3000, quorum: 0.6
  }
  const node = parseNodeConfig({ ...settings })
  let sim = { ...DEFAULT_SIM_CONFIG, nodes: 8 }
  for (const [k, v] of Object.entries(settings)) sim = applySetting(sim, k, String(v))
  sim = validateSimConfig(sim)
  const a = toRoundConfig(node, { runId: 'run-x', members: 8 })
  const b = toRoundConfig(sim, { runId: 'run-x', members: sim.nodes })
  assert.deepEqual(a, b)
  assert.equal(a.collectMs, 6000)
  // and with nothing set, both sides are the schema's defaults
  const simDefaults = { ...DEFAULT_SIM_CONFIG, nodes: 8 }
  assert.deepEqual(toRoundConfig(parseNodeConfig({}), { runId: 'r', members: 8 }), toRoundConfig(simDefaults, { runId: 'r', members: 8 }))
})

test('a misspelled config key is refused with the closest known key', () => {
  assert.throws(() => parseNodeConfig({ innerStep: 5 }), (e: Error) => /innerStep: unknown setting \(did you mean "innerSteps"\?\)/.test(e.message))
  assert.throws(() => parseNodeConfig({ zzzzzzzz: 5 }), (e: Error) => /zzzzzzzz: unknown setting$/.test(e.message))
})

test('config layers: config.json < TAPESTRY_<FIELD> environment < flags', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-layers-'))
  try {
    const file = join(dir, 'config.json')
    await writeFile(file, JSON.stringify({ opsPort: 1, keepRounds: 4 }))
    const env = { TAPESTRY_OPS_PORT: '2', TAPESTRY_LISTEN: '/ip4/127.0.0.1/tcp/5,/ip4/127.0.0.1/tcp/6', TAPESTRY_LOG: 'debug' }
    assert.deepEqual(configFromEnv(env), { opsPort: 2, listen: ['/ip4/127.0.0.1/tcp/5', '/ip4/127.0.0.1/tcp/6'] }, 'only config fields; TAPESTRY_LOG is not one')
    const fromEnv = await loadNodeConfig(file, {}, env)
    assert.equal(fromEnv.opsPort, 2)
    assert.equal(fromEnv.keepRounds, 4, 'the file where nothing overrides it')
    assert.equal((await loadNodeConfig(file, { opsPort: 3 }, env)).opsPort, 3, 'flags win')
    assert.equal((await loadNodeConfig(file, {}, {})).opsPort, 1)
    await assert.rejects(loadNodeConfig(file, {}, { TAPESTRY_OPS_PORT: 'ninety' }), (e: Error) => /opsPort/.test(e.message))
  } finally {
    await rm(dir, { recursive: true })
  }
})
