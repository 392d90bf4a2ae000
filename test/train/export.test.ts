// Taking the model home: an exported GPT runs in stock ONNX Runtime and gives the trainer's loss,
// reads back to the same parameters, samples text deterministically, and refuses foreign files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import ort from '../../src/train/ort.js'
import { createTokenDataset } from '../../src/data/index.js'
import { exportModel, readExportedModel, runCentral, sampleText, TrainError, TrainErrorCode } from '../../src/train/index.js'
import type { ModelSpec } from '../../src/graph/index.js'

const CONTEXT = 16
const SPEC: ModelSpec = { kind: 'gpt', vocab: 256, context: CONTEXT, layers: 1, heads: 2, width: 16 }

function corpus (): ReturnType<typeof createTokenDataset> {
  const text = new TextEncoder().encode('the cat sat on the mat. '.repeat(40))
  return createTokenDataset(text, [0, text.length], 256, CONTEXT)
}

test('an exported model gives the trainer\'s held-out loss in stock ORT, reads back exactly, and samples text', { timeout: 120_000 }, async () => {
  const data = corpus()
  const r = await runCentral({
    model: SPEC, optimizer: { kind: 'adamw' }, train: data, test: data, steps: 60, batch: 8, lr: 3e-3, fusedSteps: 20, device: 'cpu', seed: 1
  })
  try {
    const { params } = await r.trainer.getParams()
    const bytes = exportModel(SPEC, params, 'test')
    const back = readExportedModel(bytes)
    assert.deepEqual(back.spec, SPEC)
    assert.deepEqual(back.params, params)
    // the trainer's loss over every window of the corpus, recomputed from the exported model's logits
    const s = await ort.InferenceSession.create(bytes)
    let sum = 0
    let count = 0
    for (let at = 0; at + CONTEXT + 1 <= data.tokens.length; at += CONTEXT) {
      const x = BigInt64Array.from(data.tokens.subarray(at, at + CONTEXT), BigInt)
      const logits = (await s.run({ tokens: new ort.Tensor('int64', x, [1, CONTEXT]) })).logits.data as Float32Array
      for (let t = 0; t < CONTEXT; t++) {
        const row = logits.subarray(t * 256, (t + 1) * 256)
        const m = Math.max(...row)
        const z = row.reduce((a, v) => a + Math.exp(v - m), 0)
        sum += -(row[data.tokens[at + t + 1]] - m - Math.log(z))
        count++
      }
    }
    await s.release()
    const exported = sum / count
    assert.ok(r.test.loss < 0.5 * Math.log(256), `it learned something: held-out loss ${r.test.loss}`)
    assert.ok(Math.abs(exported - r.test.loss) < 0.05 * r.test.loss, `exported ${exported} vs trainer ${r.test.loss}`)

    const a = await sampleText(bytes, SPEC, { prompt: 'the cat ', tokens: 24, temperature: 0, seed: 1 })
    const b = await sampleText(bytes, SPEC, { prompt: 'the cat ', tokens: 24, temperature: 0, seed: 9 })
    assert.equal(a, b, 'greedy sampling does not depend on the seed')
    assert.ok(a.startsWith('the cat ') && a.length > 'the cat '.length)
    const c = await sampleText(bytes, SPEC, { prompt: 'the', tokens: 40, temperature: 1, seed: 3 })
    assert.equal(c, await sampleText(bytes, SPEC, { prompt: 'the', tokens: 40, temperature: 1, seed: 3 }), 'seeded sampling repeats')
  } finally {
    await r.trainer.close()
  }
})

test('a file that is not an exported model is one ERR_TRAIN_BAD_MODEL_FILE', () => {
  const code = (e: unknown): boolean => e instanceof TrainError && e.code === TrainErrorCode.BadModelFile
  assert.throws(() => readExportedModel(new Uint8Array([1, 2, 3, 4, 5]), 'junk.onnx'), code)
  const bytes = exportModel({ kind: 'bigram', vocab: 4, context: 2 }, new Float32Array(16), 'test')
  assert.deepEqual(readExportedModel(bytes).params, new Float32Array(16))
})
