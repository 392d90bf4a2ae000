// The trainer on a token dataset: int64 windows fed by the model's declared names, evaluation in bits per byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BatchSampler, createTokenDataset, shard } from '../../src/data/index.js'
import { Rng } from '../../src/tensor/rng.js'
import { Trainer, TrainError, TrainErrorCode, modelSpec, trainFromSampler } from '../../src/train/index.js'

/** Documents over 8 tokens where the next token is mostly (t + 1) mod 8: a bigram model can learn it. */
function corpus (docs: number, len: number, seed: number): ReturnType<typeof createTokenDataset> {
  const rng = new Rng(seed)
  const tokens = new Uint8Array(docs * len)
  const starts = [0]
  for (let d = 0; d < docs; d++) {
    let t = rng.int(8)
    for (let p = 0; p < len; p++) {
      tokens[d * len + p] = t
      t = rng.next() < 0.9 ? (t + 1) % 8 : rng.int(8)
    }
    starts.push((d + 1) * len)
  }
  return createTokenDataset(tokens, starts, 8, 6)
}

test('a bigram model trains on token windows and reports held-out bits per byte', async () => {
  const train = corpus(12, 40, 1)
  const test = corpus(4, 40, 2)
  const model = modelSpec('bigram', train)
  const trainer = await Trainer.create({ model, optimizer: { kind: 'adamw' }, fusedSteps: 4, device: 'cpu', seed: 3, threads: 1 })
  try {
    assert.deepEqual(trainer.inputShape, [6])
    assert.deepEqual(trainer.targetShape, [6])
    const before = await trainer.evaluate(test, 5)
    assert.equal(before.n, test.n * Math.floor((40 - 7) / 6 + 1) * 6)
    assert.ok(Math.abs(before.bitsPerByte! - 3) < 0.1, `an untrained model is near log2(8) = 3 bits: ${before.bitsPerByte}`)
    const [mine] = shard(train, 2, { kind: 'iid' }, 4)
    const sampler = new BatchSampler(train, mine, 16, new Rng(5))
    await trainFromSampler(trainer, sampler, 40, 0.05)
    const after = await trainer.evaluate(test, 5)
    assert.ok(after.bitsPerByte! < 1.6, `bits per byte ${before.bitsPerByte} → ${after.bitsPerByte}`)
    assert.ok(after.accuracy! > 0.8, `next-token accuracy ${after.accuracy}`)
    assert.ok(Math.abs(after.bitsPerByte! - after.loss / Math.LN2) < 1e-12)
  } finally {
    await trainer.close()
  }
})

test('the trainer refuses a batch of the wrong element type for the declared input', async () => {
  const trainer = await Trainer.create({ model: { kind: 'bigram', vocab: 8, context: 2 }, optimizer: { kind: 'sgd' }, fusedSteps: 1, device: 'cpu', seed: 1, threads: 1 })
  try {
    await assert.rejects(trainer.trainSteps(1, 1, new Float32Array(2), new BigInt64Array(2), 0.1), (e: unknown) => e instanceof TrainError && e.code === TrainErrorCode.BadInput)
  } finally {
    await trainer.close()
  }
})
