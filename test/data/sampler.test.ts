// Tests of the batch sampler: shapes, labels matching rows, epoch coverage, reproducibility, speed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Rng } from '../../src/tensor/rng.js'
import { BatchSampler, gather, loadMnist, subset, DataErrorCode, SamplerError } from '../../src/data/index.js'
import { tinyDataset } from './helpers.js'

test('next(k) stacks k batches: x [k, B, features], y [k, B] int64 matching the rows', () => {
  const ds = tinyDataset(100, 10)
  const s = new BatchSampler(ds, null, 8, new Rng(1))
  const b = s.next(3)
  assert.equal(b.k, 3)
  assert.equal(b.batchSize, 8)
  assert.equal(b.x.length, 3 * 8 * 2)
  assert.ok(b.y instanceof BigInt64Array)
  assert.equal(b.y.length, 24)
  for (let i = 0; i < 24; i++) {
    const row = b.x[2 * i]
    assert.equal(b.x[2 * i + 1], ds.y[row])
    assert.equal(b.y[i], BigInt(ds.y[row]))
  }
  // fresh buffers every call, so they can be transferred to a worker
  const c = s.next(3)
  assert.notEqual(b.x.buffer, c.x.buffer)
  assert.equal(c.x.byteOffset, 0)
  assert.equal(c.x.buffer.byteLength, c.x.byteLength)
})

test('each epoch visits every row of the shard exactly once, in a new order', () => {
  const ds = tinyDataset(200, 10)
  const rows = Int32Array.from({ length: 60 }, (_, i) => 3 * i + 1)
  const s = new BatchSampler(ds, rows, 10, new Rng(2))
  const orders: number[][] = []
  for (let e = 0; e < 3; e++) {
    const b = s.next(6)
    const seen = Array.from({ length: 60 }, (_, i) => b.x[2 * i])
    assert.deepEqual([...seen].sort((p, q) => p - q), [...rows])
    orders.push(seen)
  }
  assert.notDeepEqual(orders[0], orders[1])
  assert.equal(s.epoch, 2)
})

test('batches keep their size across an epoch boundary and on a shard smaller than a batch', () => {
  const ds = tinyDataset(50, 5)
  const s = new BatchSampler(ds, [4, 9, 13], 8, new Rng(3))
  const b = s.next(2)
  assert.equal(b.y.length, 16)
  const counts = new Map<number, number>()
  for (let i = 0; i < 16; i++) counts.set(b.x[2 * i], (counts.get(b.x[2 * i]) ?? 0) + 1)
  assert.deepEqual([...counts.keys()].sort((p, q) => p - q), [4, 9, 13])
  for (const c of counts.values()) assert.ok(c >= 5 && c <= 6)
})

test('same seed, same batches', () => {
  const ds = tinyDataset(500, 10)
  const a = new BatchSampler(ds, null, 32, new Rng(9))
  const b = new BatchSampler(ds, null, 32, new Rng(9))
  for (let t = 0; t < 5; t++) assert.deepEqual(a.next(4), b.next(4))
})

test('bad arguments fail with typed errors', () => {
  const ds = tinyDataset(10, 2)
  const code = (c: DataErrorCode) => (e: unknown) => e instanceof SamplerError && e.code === c
  assert.throws(() => new BatchSampler(ds, null, 0, new Rng(1)), code(DataErrorCode.BadBatch))
  assert.throws(() => new BatchSampler(ds, [], 4, new Rng(1)), code(DataErrorCode.BadBatch))
  assert.throws(() => new BatchSampler(ds, [1, 10], 4, new Rng(1)), code(DataErrorCode.BadIndex))
  assert.throws(() => new BatchSampler(ds, [1, -1], 4, new Rng(1)), code(DataErrorCode.BadIndex))
  assert.throws(() => new BatchSampler(ds, null, 4, new Rng(1)).next(0), code(DataErrorCode.BadBatch))
})

test('gather and subset copy the chosen rows', () => {
  const ds = tinyDataset(20, 4)
  const g = gather(ds, [5, 2])
  assert.deepEqual([...g.x], [5, 1, 2, 2])
  assert.deepEqual([...g.y], [1n, 2n])
  const sub = subset(ds, [7, 3, 3])
  assert.equal(sub.n, 3)
  assert.deepEqual([...sub.y], [3, 3, 3])
  assert.deepEqual([...sub.x], [7, 3, 3, 3, 3, 3])
})

test('MNIST batches of 16 × 64 digits come out whole: every row a real example with its label', () => {
  // (their speed is a benchmark figure, not a test: timing on a shared 2-core machine is noise)
  const { train } = loadMnist()
  const s = new BatchSampler(train, null, 64, new Rng(4))
  const b = s.next(16)
  assert.equal(b.x.length, 16 * 64 * 784)
  assert.equal(b.y.length, 16 * 64)
  for (const row of [0, 500, 16 * 64 - 1]) {
    const x = b.x.subarray(row * 784, (row + 1) * 784)
    const i = [...Array(train.n).keys()].find(k => Number(train.y[k]) === Number(b.y[row]) && x.every((v, j) => v === train.x[k * 784 + j]))
    assert.ok(i != null, `row ${row} is a training example with its label`)
  }
})
