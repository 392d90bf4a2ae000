// The run-settings schema: its defaults, one clear error per bad field, the derived timing rule, and the engine's defaults taken from it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  RUN_DEFAULTS, RUN_SETTING_KEYS, RunSettingsSchema, DEFAULT_ROUND_CONFIG, RoundErrorCode, RunSettingsError,
  createRoundConfig, parseRunSettings, roundTimings, toRoundConfig, runSettingFromText
} from '../../src/round/index.js'

test('the schema holds the tuned defaults, written once', () => {
  assert.deepEqual({ ...RUN_DEFAULTS }, {
    model: 'mlp',
    data: 'mnist',
    seed: 1,
    innerSteps: 50,
    batch: 32,
    innerLr: 1e-3,
    codec: 'topk:0.01+q4',
    aggregateCodec: 'int8',
    mode: 'gossip',
    groupSize: 16,
    subAggregateCodec: 'int8',
    rule: 'mean',
    maxNormRatio: 5,
    outerLr: 1,
    outerMomentum: 0.6,
    backups: 2,
    deadlineMs: 20_000,
    quorum: 0.75,
    restoreExcluded: true,
    dpClipNorm: 0,
    dpNoiseMultiplier: 0,
    dpDelta: 1e-5
  })
  assert.deepEqual(RUN_SETTING_KEYS.filter(k => RunSettingsSchema.shape[k].description == null), [], 'every setting has a description for --help')
})

test('the engine defaults are the schema defaults mapped, with derived timing', () => {
  assert.deepEqual(DEFAULT_ROUND_CONFIG, {
    innerSteps: 50,
    codec: 'topk:0.01+q4',
    aggregateCodec: 'int8',
    mode: 'gossip',
    groupSize: 16,
    subAggregateCodec: 'int8',
    rule: { rule: { kind: 'mean' } },
    maxNormRatio: 5,
    outer: { lr: 1, momentum: 0.6, nesterov: true },
    backups: 2,
    deadlineMs: 20_000,
    collectMs: 10_000,
    backupStepMs: 10_000,
    quorum: 0.75,
    restoreExcluded: true,
    privacy: null
  })
  const c = createRoundConfig({ runId: 'r', deadlineMs: 8000 })
  assert.equal(c.collectMs, 4000)
  assert.equal(c.backupStepMs, 4000)
  assert.equal(createRoundConfig({ runId: 'r', deadlineMs: 8000, collectMs: 1000 }).collectMs, 1000)
  assert.deepEqual(roundTimings({ deadlineMs: 6000, backupStepMs: 500 }), { deadlineMs: 6000, collectMs: 3000, backupStepMs: 500 })
})

test('toRoundConfig maps every field once and clamps backups to the members', () => {
  const s = parseRunSettings({ codec: 'topk:0.05+q2', rule: 'trimmed:0.1', outerMomentum: 0, deadlineMs: 9000, backups: 5, quorum: 0.5 })
  const c = toRoundConfig(s, { runId: 'run-1', members: 3 })
  assert.equal(c.runId, 'run-1')
  assert.equal(c.codec, 'topk:0.05+q2')
  assert.deepEqual(c.rule, { rule: { kind: 'trimmed-mean', beta: 0.1 } })
  assert.deepEqual(c.outer, { lr: 1, momentum: 0, nesterov: false })
  assert.equal(c.backups, 2)
  assert.equal(c.collectMs, 4500)
  assert.equal(c.quorum, 0.5)
})

test('a bad field is one RunSettingsError naming it, with a stable code', () => {
  for (const [input, field] of [
    [{ codec: 'topk:7+q9' }, 'codec'],
    [{ quorum: 0 }, 'quorum'],
    [{ innerSteps: 2.5 }, 'innerSteps'],
    [{ mode: 'tree' }, 'mode'],
    [{ rule: 'mode:3' }, 'rule'],
    [{ outerMomentum: 1 }, 'outerMomentum'],
    [{ deadlineMs: 1000, collectMs: 2000 }, 'collectMs'],
    [{ listen: [] }, 'listen']
  ] as const) {
    assert.throws(() => parseRunSettings(input), (err: unknown) => {
      assert.ok(err instanceof RunSettingsError, String(err))
      assert.equal(err.code, RoundErrorCode.BadSettings)
      assert.equal(err.field, field)
      return true
    })
  }
})

test('settings written as text take the type of their field', () => {
  assert.equal(runSettingFromText('innerLr', '3e-4'), 3e-4)
  assert.equal(runSettingFromText('restoreExcluded', 'false'), false)
  assert.equal(runSettingFromText('collectMs', '500'), 500)
  assert.equal(runSettingFromText('codec', 'int8'), 'int8')
  assert.ok(Number.isNaN(runSettingFromText('batch', '') as number))
})
