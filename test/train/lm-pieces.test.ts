// The language-model pieces around training: the learning-rate schedule, a node's own text split
// into train and held-out, the daemon's thinned held-out sample, gpt in the catalog and the run settings.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTokenDataset, thinTokenEval, windowStarts } from '../../src/data/index.js'
import { checkPairing, lrAt, loadLocalTextSplit, modelSpec, recipe, TrainError, TrainErrorCode } from '../../src/train/index.js'
import { parseRunSettings } from '../../src/round/index.js'

test('warmup then cosine: 0 → peak over 5%, then down to the floor at the last step', () => {
  const s = { kind: 'cosine', lr: 1e-3, warmup: 0.05, floor: 0.1 } as const
  assert.ok(Math.abs(lrAt(s, 0, 2000) - 1e-3 / 100) < 1e-12)
  assert.ok(Math.abs(lrAt(s, 99, 2000) - 1e-3) < 1e-12)
  assert.ok(Math.abs(lrAt(s, 1999, 2000) - 1e-4) < 1e-12)
  const mid = lrAt(s, 100 + Math.round(1899 / 2), 2000)
  assert.ok(Math.abs(mid - 1e-3 * 0.55) < 2e-6, `half way: ${mid}`)
  for (let i = 100; i < 1999; i++) assert.ok(lrAt(s, i + 1, 2000) <= lrAt(s, i, 2000) + 1e-15)
  assert.equal(lrAt({ kind: 'constant', lr: 0.5 }, 7, 10), 0.5)
})

test('gpt is in the catalog with its recipe, and the run settings pair it with text only', () => {
  const text = createTokenDataset(new Uint8Array(300).fill(65), [0, 300], 256, 128)
  assert.deepEqual(modelSpec('gpt', text), { kind: 'gpt', vocab: 256, context: 128, layers: 4, heads: 4, width: 128 })
  checkPairing('gpt', 'sotu')
  assert.throws(() => checkPairing('gpt', 'mnist'), (e: unknown) => e instanceof TrainError && e.code === TrainErrorCode.ModelDataMismatch)
  const r = recipe('gpt')
  assert.deepEqual(r.optimizer, { kind: 'adamw', beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 })
  assert.equal(r.batch, 32)
  assert.equal(parseRunSettings({ model: 'gpt', data: 'sotu' }).model, 'gpt')
  assert.throws(() => parseRunSettings({ model: 'gpt', data: 'mnist' }), /model gpt does not train on mnist/)
})

test('a node\'s own text: every 10th document held out, a single one cut 90/10, too short refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-lm-'))
  try {
    const folder = join(dir, 'docs')
    await (await import('node:fs/promises')).mkdir(folder)
    for (let i = 0; i < 12; i++) await writeFile(join(folder, `d${String(i).padStart(2, '0')}.txt`), `document ${i} `.repeat(30))
    const s = loadLocalTextSplit(folder, 32)
    assert.equal(s.train.n, 11)
    assert.equal(s.test.n, 1)
    const one = join(dir, 'one.jsonl')
    await writeFile(one, JSON.stringify({ text: 'x'.repeat(1000) }) + '\n')
    const c = loadLocalTextSplit(one, 32)
    assert.equal(c.train.tokens.length, 900)
    assert.equal(c.test.tokens.length, 100)
    assert.throws(() => loadLocalTextSplit(one, 128), (e: unknown) => e instanceof TrainError && /held-out part has no document of 129 bytes/.test(e.message))
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('the daemon\'s held-out sample: at most N evenly spaced evaluation windows, each its own document', () => {
  const n = 10_000
  const bytes = Uint8Array.from({ length: n }, (_, i) => i % 251)
  const ds = createTokenDataset(bytes, [0, 6000, n], 256, 16)
  const thin = thinTokenEval(ds, 50)
  assert.equal(thin.n, 50)
  assert.equal(windowStarts(thin, null, 16).length, 50)
  assert.deepEqual(Array.from(thin.tokens.subarray(0, 17)), Array.from(bytes.subarray(0, 17)))
  assert.equal(thinTokenEval(ds, 10_000), ds, 'small enough: unchanged')
})
