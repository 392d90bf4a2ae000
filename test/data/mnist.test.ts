// Tests of the fixed MNIST split: sizes, ranges, stratification, determinism, no train/test overlap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { loadMnist, labelHistogram, MNIST_TEST_SIZE } from '../../src/data/index.js'

test('loadMnist gives 8,000 train and 2,000 test digits of 784 pixels in [0, 1]', () => {
  const { train, test: held } = loadMnist()
  assert.equal(train.n, 8000)
  assert.equal(held.n, MNIST_TEST_SIZE)
  for (const ds of [train, held]) {
    assert.equal(ds.kind, 'classification')
    assert.deepEqual([...ds.featureShape], [784])
    assert.equal(ds.numClasses, 10)
    assert.equal(ds.x.length, ds.n * 784)
    assert.equal(ds.y.length, ds.n)
    let min = Infinity
    let max = -Infinity
    for (const v of ds.x) { if (v < min) min = v; if (v > max) max = v }
    assert.ok(min >= 0 && max <= 1 && max > 0.9, `pixel range [${min}, ${max}]`)
  }
})

test('the split is stratified: each class gives a fifth of its digits to the test set', () => {
  const { train, test: held } = loadMnist()
  const tr = labelHistogram(train)
  const te = labelHistogram(held)
  for (let c = 0; c < 10; c++) {
    const all = tr[c] + te[c]
    assert.ok(Math.abs(te[c] - all / 5) <= 1, `class ${c}: ${te[c]} of ${all} held out`)
  }
})

test('the split is cached and pinned: same object, same bytes as when it was fixed', () => {
  const a = loadMnist()
  assert.equal(loadMnist(), a)
  const digest = (v: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex').slice(0, 16)
  // golden values: if these change, every reported accuracy changed meaning; bump MNIST_SPLIT_SEED instead
  assert.deepEqual(
    { trainY: digest(a.train.y), testY: digest(a.test.y), trainX: digest(a.train.x), testX: digest(a.test.x) },
    GOLDEN
  )
})

test('no digit is both in train and in test', () => {
  const { train, test: held } = loadMnist()
  const key = (x: Float32Array, i: number): string => Buffer.from(x.buffer, x.byteOffset + i * 784 * 4, 784 * 4).toString('base64')
  const seen = new Set<string>()
  for (let i = 0; i < train.n; i++) seen.add(key(train.x, i))
  let shared = 0
  for (let i = 0; i < held.n; i++) if (seen.has(key(held.x, i))) shared++
  assert.equal(shared, 0)
})

const GOLDEN = { trainY: '7d4894adef7a13b3', testY: '1aa30294d96201f6', trainX: 'aa62d14c609a3c70', testX: '200a52fc673b70ac' }
