// Whole-group shards of token sets on synthetic data: exact cover by groups, balance, refusals with typed codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createTokenDataset, documentTokens, shard, shardWeight, DataError, DataErrorCode, ShardError, type TokenDataset } from '../../src/data/index.js'
import { tinyDataset } from './helpers.js'

/** Documents of the given lengths, document d in group groupOf[d] of `groups` groups named g0, g1, .... */
function grouped (lengths: number[], groupOf: number[], groups: number): TokenDataset {
  const starts = [0]
  for (const l of lengths) starts.push(starts[starts.length - 1] + l)
  const names = Array.from({ length: groups }, (_, g) => `g${g}`)
  return createTokenDataset(new Uint8Array(starts[starts.length - 1]), starts, 256, 2, { speaker: { names, of: Int32Array.from(groupOf) } })
}

test('group shards: each group whole in one shard, every document once, no empty shard, max ≤ mean + largest group', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ len: fc.integer({ min: 0, max: 300 }), g: fc.integer({ min: 0, max: 11 }) }), { minLength: 1, maxLength: 60 }),
    fc.integer({ min: 1, max: 8 }), fc.integer(),
    (docs, nodes, seed) => {
      const ds = grouped(docs.map(d => d.len), docs.map(d => d.g), 12)
      const present = new Set(docs.map(d => d.g)).size
      fc.pre(present >= nodes)
      const shards = shard(ds, nodes, { kind: 'group', by: 'speaker' }, seed)
      assert.deepEqual(shards, shard(ds, nodes, { kind: 'group', by: 'speaker' }, seed))
      const owner = new Map<number, number>()
      const count = new Int32Array(ds.n)
      shards.forEach((s, k) => {
        assert.ok(s.length > 0)
        for (let i = 1; i < s.length; i++) assert.ok(s[i - 1] < s[i])
        for (const d of s) {
          count[d]++
          const g = docs[d].g
          assert.equal(owner.get(g) ?? k, k)
          owner.set(g, k)
        }
      })
      assert.ok(count.every(c => c === 1))
      const tokensOf = new Float64Array(12)
      docs.forEach(d => { tokensOf[d.g] += d.len })
      const mean = documentTokens(ds) / nodes
      for (const s of shards) assert.ok(shardWeight(ds, s) <= mean + Math.max(...tokensOf))
    }
  ), { numRuns: 200 })
})

test('largest group first to the lightest shard: a known split', () => {
  // groups of 100, 60, 50, 40, 30 tokens over 2 nodes: greedy gives {100, 40} and {60, 50, 30}
  const ds = grouped([100, 60, 50, 40, 30], [0, 1, 2, 3, 4], 5)
  const w = shard(ds, 2, { kind: 'group', by: 'speaker' }, 3).map(s => shardWeight(ds, s)).sort((a, b) => a - b)
  assert.deepEqual(w, [140, 140])
})

test('group partitions are refused with typed codes where they cannot work', () => {
  const ds = grouped([10, 10, 10, 10], [0, 0, 1, 1], 3)
  const isShard = (code: DataErrorCode) => (e: unknown) => e instanceof ShardError && e.code === code
  assert.throws(() => shard(ds, 3, { kind: 'group', by: 'speaker' }, 1), isShard(DataErrorCode.TooFewGroups))
  assert.throws(() => shard(ds, 2, { kind: 'group', by: 'era' }, 1), isShard(DataErrorCode.NoGrouping))
  assert.throws(() => shard(ds, 2, { kind: 'group', by: 'speaker' }, 1, { minPerShard: 3 }), isShard(DataErrorCode.TooFewExamples))
  const plain = createTokenDataset(new Uint8Array(8), [0, 4, 8], 256, 2)
  assert.throws(() => shard(plain, 2, { kind: 'group', by: 'speaker' }, 1), isShard(DataErrorCode.NoGrouping))
  assert.throws(() => shard(tinyDataset(20, 2), 2, { kind: 'group', by: 'speaker' }, 1), isShard(DataErrorCode.PartitionKind))
  assert.throws(() => shard(ds, 2, { kind: 'group', by: 'Not A Name' }, 1), { code: DataErrorCode.PartitionSyntax })
  assert.deepEqual(shard(ds, 2, { kind: 'group', by: 'speaker' }, 1).map(s => [...s]).sort(), [[0, 1], [2, 3]])
})

test('createTokenDataset checks groupings against the documents', () => {
  const mk = (names: string[], of: number[], key = 'speaker') => () => createTokenDataset(new Uint8Array(4), [0, 2, 4], 256, 1, { [key]: { names, of: Int32Array.from(of) } })
  for (const f of [mk(['a'], [0]), mk(['a'], [0, 1]), mk(['a', 'a'], [0, 1]), mk(['a'], [0, -1]), mk(['a'], [0, 0], 'Speaker')]) {
    assert.throws(f, (e: unknown) => e instanceof DataError && e.code === DataErrorCode.LoadFailed)
  }
  const ok = mk(['a', 'b'], [1, 0])()
  assert.deepEqual([...(ok.groups?.speaker.of ?? [])], [1, 0])
})
