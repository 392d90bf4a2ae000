// Token datasets: windows inside documents, the sampler over windows, document shards, evaluation chunks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Rng } from '../../src/tensor/rng.js'
import {
  BatchSampler, createTokenDataset, documentTokens, evalChunks, shard, shardWeight, windowStarts,
  DataError, DataErrorCode, SamplerError, ShardError, type TokenDataset
} from '../../src/data/index.js'

/** Documents of the given lengths; token = 50·doc + position, so every token names where it came from. */
function tinyTokens (lengths: number[], context: number): TokenDataset {
  const starts = [0]
  for (const l of lengths) starts.push(starts[starts.length - 1] + l)
  const tokens = new Uint8Array(starts[starts.length - 1])
  lengths.forEach((l, d) => { for (let p = 0; p < l; p++) tokens[starts[d] + p] = 50 * d + p })
  return createTokenDataset(tokens, starts, 256, context)
}

const DS = tinyTokens([5, 2, 8, 4], 3)

test('windows of context + 1 stay inside one document; short documents give none', () => {
  assert.equal(DS.n, 4)
  assert.deepEqual([...windowStarts(DS, null)], [0, 1, 7, 8, 9, 10, 11, 15])
  assert.deepEqual([...windowStarts(DS, [3, 1])], [15])
  // evaluation: targets do not overlap
  assert.deepEqual([...windowStarts(DS, null, 3)], [0, 7, 10, 15])
  assert.equal(documentTokens(DS), 19)
  assert.equal(documentTokens(DS, [0, 2]), 13)
})

test('sampler: x is a window, y the same window shifted by one, every window once per epoch', () => {
  const s = new BatchSampler(DS, null, 2, new Rng(3))
  assert.equal(s.size, 8)
  const b = s.next(4)
  assert.equal(b.kind, 'tokens')
  assert.ok(b.x instanceof BigInt64Array && b.y instanceof BigInt64Array)
  assert.equal(b.x.length, 4 * 2 * 3)
  assert.equal(b.y.length, 4 * 2 * 3)
  const firsts = new Set<number>()
  for (let w = 0; w < 8; w++) {
    const x = Array.from(b.x.subarray(3 * w, 3 * w + 3), Number)
    const y = Array.from(b.y.subarray(3 * w, 3 * w + 3), Number)
    const doc = Math.floor(x[0] / 50)
    for (let j = 0; j < 3; j++) {
      assert.equal(x[j], x[0] + j, 'consecutive tokens')
      assert.equal(y[j], x[j] + 1, 'target is the next token')
      assert.equal(Math.floor(y[j] / 50), doc, 'one document')
    }
    firsts.add(x[0])
  }
  assert.deepEqual([...firsts].sort((a, c) => a - c), [0, 1, 100, 101, 102, 103, 104, 150])
  assert.equal(s.epoch, 0)
  s.next(1)
  assert.equal(s.epoch, 1)
  // reproducible from the seed
  assert.deepEqual(new BatchSampler(DS, null, 2, new Rng(3)).next(4).x, b.x)
})

test('sampler over a shard draws only that shard\'s documents, and refuses one with no window', () => {
  const s = new BatchSampler(DS, [0], 4, new Rng(1))
  const b = s.next(2)
  for (let i = 0; i < b.x.length; i++) assert.ok(b.x[i] < 50n)
  assert.throws(() => new BatchSampler(DS, [1], 4, new Rng(1)), (e: unknown) => e instanceof SamplerError && e.code === DataErrorCode.BadBatch)
  assert.throws(() => new BatchSampler(DS, [4], 4, new Rng(1)), (e: unknown) => e instanceof SamplerError && e.code === DataErrorCode.BadIndex)
})

test('iid shards are whole documents, each once, balanced by tokens, reproducible', () => {
  const lengths = Array.from({ length: 40 }, (_, i) => 5 + ((i * 37) % 60))
  const ds = tinyTokens(lengths, 4)
  const shards = shard(ds, 4, { kind: 'iid' }, 9)
  assert.deepEqual(shards, shard(ds, 4, { kind: 'iid' }, 9))
  const all = shards.flatMap(s => [...s]).sort((a, b) => a - b)
  assert.deepEqual(all, Array.from({ length: 40 }, (_, i) => i))
  const weights = shards.map(s => shardWeight(ds, s))
  assert.equal(weights.reduce((a, b) => a + b, 0), documentTokens(ds))
  const mean = documentTokens(ds) / 4
  for (const w of weights) assert.ok(Math.abs(w - mean) <= 64, `shard of ${w} tokens vs mean ${mean}`)
  assert.notDeepEqual(shards, shard(ds, 4, { kind: 'iid' }, 10))
})

test('token shards refuse label skew and too few documents with typed codes', () => {
  assert.throws(() => shard(DS, 2, { kind: 'dirichlet', alpha: 0.5 }, 1), (e: unknown) => e instanceof ShardError && e.code === DataErrorCode.PartitionKind)
  assert.throws(() => shard(DS, 5, { kind: 'iid' }, 1), (e: unknown) => e instanceof ShardError && e.code === DataErrorCode.TooFewExamples)
})

test('evaluation chunks: non-overlapping windows, at most `chunk` each', () => {
  const chunks = [...evalChunks(DS, 3)]
  assert.deepEqual(chunks.map(c => c.n), [3, 1])
  const firsts = chunks.flatMap(c => Array.from({ length: c.n }, (_, i) => Number(c.x[3 * i])))
  assert.deepEqual(firsts, [0, 100, 103, 150])
  assert.ok(chunks.every(c => c.x instanceof BigInt64Array && c.y.length === c.n * 3))
})

test('createTokenDataset rejects bad offsets, ids and context', () => {
  const bad = [
    () => createTokenDataset(new Uint8Array(4), [0, 3], 256, 2),
    () => createTokenDataset(new Uint8Array(4), [0, 3, 2, 4], 256, 2),
    () => createTokenDataset(Uint8Array.from([1, 9]), [0, 2], 8, 1),
    () => createTokenDataset(new Uint8Array(4), [0, 4], 256, 0)
  ]
  for (const f of bad) assert.throws(f, (e: unknown) => e instanceof DataError && e.code === DataErrorCode.LoadFailed)
})
