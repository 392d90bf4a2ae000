// Tests of sharding: exact cover, no empty shard, reproducibility, measurable Dirichlet skew.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Rng } from '../../src/tensor/rng.js'
import { shard, dirichlet, loadMnist, summariseShards, DataErrorCode, ShardError, type Partition } from '../../src/data/index.js'
import { tinyDataset } from './helpers.js'

const partitionArb: fc.Arbitrary<Partition> = fc.oneof(
  fc.constant<Partition>({ kind: 'iid' }),
  fc.double({ min: 0.01, max: 100, noNaN: true }).map((alpha): Partition => ({ kind: 'dirichlet', alpha }))
)

test('every example is assigned exactly once and no shard is empty', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 }), partitionArb, fc.integer(),
    (n, nodes, classes, partition, seed) => {
      fc.pre(nodes <= n)
      const ds = tinyDataset(n, classes, i => (i * 7) % classes)
      const shards = shard(ds, nodes, partition, seed)
      assert.equal(shards.length, nodes)
      const count = new Int32Array(n)
      for (const s of shards) {
        assert.ok(s.length >= 1)
        for (let i = 1; i < s.length; i++) assert.ok(s[i - 1] < s[i], 'indices ascending')
        for (const i of s) count[i]++
      }
      assert.ok(count.every(c => c === 1))
    }
  ), { numRuns: 200 })
})

test('iid shards differ in size by at most one', () => {
  const shards = shard(tinyDataset(1003, 10), 16, { kind: 'iid' }, 1)
  const sizes = shards.map(s => s.length)
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1)
})

test('same seed gives the same shards, another seed different ones', () => {
  const ds = tinyDataset(2000, 10)
  for (const p of [{ kind: 'iid' }, { kind: 'dirichlet', alpha: 0.5 }] as Partition[]) {
    const a = shard(ds, 8, p, 'run-7')
    const b = shard(ds, 8, p, 'run-7')
    const c = shard(ds, 8, p, 'run-8')
    assert.deepEqual(a, b)
    assert.notDeepEqual(a, c)
  }
})

test('minPerShard tops up starved shards even at tiny alpha', () => {
  const ds = tinyDataset(500, 10)
  const shards = shard(ds, 50, { kind: 'dirichlet', alpha: 0.01 }, 3, { minPerShard: 5 })
  assert.ok(shards.every(s => s.length >= 5), shards.map(s => s.length).join(','))
  assert.equal(shards.reduce((a, s) => a + s.length, 0), 500)
})

test('Dirichlet(0.1) shards are far more label-skewed than IID ones on MNIST', () => {
  const { train } = loadMnist()
  const iid = summariseShards(train, shard(train, 16, { kind: 'iid' }, 11)).meanEntropy
  const d05 = summariseShards(train, shard(train, 16, { kind: 'dirichlet', alpha: 0.5 }, 11)).meanEntropy
  const d01 = summariseShards(train, shard(train, 16, { kind: 'dirichlet', alpha: 0.1 }, 11)).meanEntropy
  const d100 = summariseShards(train, shard(train, 16, { kind: 'dirichlet', alpha: 100 }, 11)).meanEntropy
  // uniform over 10 labels is log2(10) ≈ 3.32 bits
  assert.ok(iid > 3.25, `iid ${iid}`)
  assert.ok(d100 > 3.2, `alpha 100 ${d100}`)
  assert.ok(d05 < iid - 0.6, `alpha 0.5 ${d05} vs iid ${iid}`)
  assert.ok(d01 < 1.6, `alpha 0.1 ${d01}`)
  assert.ok(d01 < d05, `alpha 0.1 ${d01} vs 0.5 ${d05}`)
})

test('dirichlet draws sum to one and stay finite for tiny alpha', () => {
  const rng = new Rng(5)
  for (const alpha of [1e-4, 0.01, 0.1, 1, 10]) {
    for (let t = 0; t < 50; t++) {
      const p = dirichlet(rng, alpha, 16)
      const sum = p.reduce((a, b) => a + b, 0)
      assert.ok(Math.abs(sum - 1) < 1e-12 && p.every(v => Number.isFinite(v) && v >= 0), `alpha ${alpha}`)
    }
  }
  // mean share is 1/k whatever alpha
  const mean = new Float64Array(4)
  for (let t = 0; t < 4000; t++) dirichlet(rng, 0.3, 4).forEach((v, i) => { mean[i] += v / 4000 })
  for (const m of mean) assert.ok(Math.abs(m - 0.25) < 0.03, `mean share ${m}`)
})

test('impossible shardings fail with typed errors', () => {
  const ds = tinyDataset(10, 2)
  const isShardError = (code: DataErrorCode) => (e: unknown) => e instanceof ShardError && e.code === code
  assert.throws(() => shard(ds, 0, { kind: 'iid' }, 1), isShardError(DataErrorCode.BadNodeCount))
  assert.throws(() => shard(ds, 2.5, { kind: 'iid' }, 1), isShardError(DataErrorCode.BadNodeCount))
  assert.throws(() => shard(ds, 11, { kind: 'iid' }, 1), isShardError(DataErrorCode.TooFewExamples))
  assert.throws(() => shard(ds, 4, { kind: 'iid' }, 1, { minPerShard: 3 }), isShardError(DataErrorCode.TooFewExamples))
  assert.throws(() => shard(ds, 2, { kind: 'iid' }, 1, { minPerShard: 0 }), isShardError(DataErrorCode.BadShardOption))
  assert.throws(() => shard(ds, 2, { kind: 'dirichlet', alpha: -1 }, 1), { code: DataErrorCode.PartitionAlpha })
})
