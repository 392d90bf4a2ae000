// The catalog refuses a model paired with a dataset of the wrong kind, by code, before any training.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createClassificationDataset, createTokenDataset } from '../../src/data/index.js'
import { checkPairing, dataKind, modelAccepts, modelSpec, MODEL_NAMES, TrainError, TrainErrorCode } from '../../src/train/index.js'

const tokens = createTokenDataset(Uint8Array.from([1, 2, 3, 4, 5, 6]), [0, 6], 256, 4)
const digits = createClassificationDataset(new Float32Array(6), Int32Array.from([0, 1, 2]), [2], 3)
const mismatch = (e: unknown): boolean => e instanceof TrainError && e.code === TrainErrorCode.ModelDataMismatch

test('every model declares the dataset kind it accepts', () => {
  for (const m of MODEL_NAMES) assert.ok(['classification', 'tokens'].includes(modelAccepts(m)))
  assert.equal(modelAccepts('mlp'), 'classification')
  assert.equal(modelAccepts('bigram'), 'tokens')
  assert.equal(dataKind('mnist'), 'classification')
})

test('a matching pairing gives the model spec derived from the data', () => {
  assert.deepEqual(modelSpec('mlp', digits), { kind: 'mlp', sizes: [2, 256, 3] })
  assert.deepEqual(modelSpec('bigram', tokens), { kind: 'bigram', vocab: 256, context: 4 })
  checkPairing('mlp', 'mnist')
})

test('a wrong pairing is refused with ERR_TRAIN_MODEL_DATA_MISMATCH, by name or by dataset', () => {
  assert.throws(() => modelSpec('mlp', tokens), mismatch)
  assert.throws(() => modelSpec('bigram', digits), mismatch)
  assert.throws(() => checkPairing('bigram', 'mnist'), mismatch)
})
