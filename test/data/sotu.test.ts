// The shipped State of the Union corpus: byte tokens, the held-out years, speaker and era groupings, whole-group shards.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadSotu, sotuHeldOut, shard, shardWeight, documentTokens, groupMembers, SOTU_ERAS, type TokenDataset } from '../../src/data/index.js'
import { loadData, dataKind } from '../../src/train/catalog.js'

test('loadSotu: one document per address, byte tokens, held out = the years ending in 5', () => {
  const s = loadSotu({ context: 128 })
  assert.equal(s.train.n + s.test.n, 233)
  assert.equal(s.test.n, 23)
  assert.equal(s.addresses.train.length, s.train.n)
  assert.equal(s.addresses.test.length, s.test.n)
  assert.ok(s.addresses.test.every(a => a.year % 10 === 5 && sotuHeldOut(a.year)))
  assert.ok(s.addresses.train.every(a => a.year % 10 !== 5))
  const years = s.addresses.train.map(a => a.year)
  assert.equal(Math.min(...years), 1790)
  assert.ok(years.every((y, i) => i === 0 || y >= years[i - 1]), 'documents in year order')
  for (const ds of [s.train, s.test]) {
    assert.equal(ds.kind, 'tokens')
    assert.equal(ds.vocabSize, 256)
    assert.equal(ds.context, 128)
    assert.ok(ds.tokens instanceof Uint8Array)
    assert.ok(ds.tokens.every(t => t < 256))
    for (let d = 0; d < ds.n; d++) assert.ok(ds.docStarts[d + 1] - ds.docStarts[d] > 1000, `document ${d} is a whole address`)
  }
  // the bytes are the UTF-8 text: the 1790 address opens with its salutation
  const first = new TextDecoder().decode(s.train.tokens.subarray(0, 32))
  assert.match(first, /^Fellow-Citizens of the Senate/)
  assert.ok(s.train.tokens.length > 8_000_000 && s.test.tokens.length > 1_000_000)
})

test('loadSotu is cached per context; the catalog entry is context 128', () => {
  const a = loadSotu({ context: 128 })
  assert.equal(loadSotu({ context: 128 }), a)
  assert.equal(loadSotu(), a)
  const b = loadSotu({ context: 32 })
  assert.equal(b.train.context, 32)
  assert.equal(b.train.n, a.train.n)
  assert.equal(dataKind('sotu'), 'tokens')
  assert.equal(loadData('sotu').train, a.train)
})

test('speaker and era groupings label every document, with the same names in train and test', () => {
  const s = loadSotu()
  const sp = s.train.groups?.speaker
  const era = s.train.groups?.era
  assert.ok(sp !== undefined && era !== undefined)
  assert.equal(sp.names.length, 43)
  assert.deepEqual(era.names, SOTU_ERAS.map(e => e.name))
  assert.deepEqual(s.test.groups?.speaker.names, sp.names)
  s.addresses.train.forEach((a, d) => {
    assert.equal(sp.names[sp.of[d]], a.speaker)
    assert.equal(era.names[era.of[d]], a.era)
    const e = SOTU_ERAS[era.of[d]]
    assert.ok(a.year >= e.from && a.year <= e.to)
  })
  assert.equal(sp.names[sp.of[0]], 'George Washington')
  // every era has training documents
  assert.ok(groupMembers(era).every(m => m.length > 0))
})

function checkGroupShards (ds: TokenDataset, by: string, nodes: number, seed: number): Int32Array[] {
  const shards = shard(ds, nodes, { kind: 'group', by }, seed)
  const g = ds.groups?.[by]
  assert.ok(g !== undefined)
  const owner = new Int32Array(g.names.length).fill(-1)
  const seen = new Int32Array(ds.n)
  shards.forEach((s, k) => {
    assert.ok(s.length > 0, `shard ${k} empty`)
    for (const d of s) {
      seen[d]++
      const grp = g.of[d]
      assert.ok(owner[grp] === -1 || owner[grp] === k, `${by} ${g.names[grp]} split across shards`)
      owner[grp] = k
    }
  })
  assert.ok(seen.every(c => c === 1), 'every document in exactly one shard')
  // greedy largest-first: no shard exceeds the mean by more than the largest group
  const weights = shards.map(s => shardWeight(ds, s))
  const largest = Math.max(...groupMembers(g).map(m => documentTokens(ds, m)))
  const mean = documentTokens(ds) / nodes
  for (const w of weights) assert.ok(w <= mean + largest, `${by}/${nodes}: shard of ${w} tokens, mean ${mean}, largest group ${largest}`)
  return shards
}

test('speaker and era shards deal out whole groups, disjoint, covering, balanced, deterministic', () => {
  const { train } = loadSotu()
  for (const nodes of [2, 4, 8]) {
    const a = checkGroupShards(train, 'speaker', nodes, 7)
    assert.deepEqual(a, shard(train, nodes, { kind: 'group', by: 'speaker' }, 7))
    const w = a.map(s => shardWeight(train, s))
    // 43 speakers: within 10% of each other
    assert.ok(Math.max(...w) / Math.min(...w) < 1.1, `speaker/${nodes}: ${w.join(' ')}`)
  }
  for (const nodes of [2, 4, 8]) checkGroupShards(train, 'era', nodes, 7)
  const e4 = shard(train, 4, { kind: 'group', by: 'era' }, 7).map(s => shardWeight(train, s))
  assert.ok(Math.max(...e4) / Math.min(...e4) < 1.5, `era/4: ${e4.join(' ')}`)
  // the seed decides which node gets which groups
  assert.notDeepEqual(shard(train, 4, { kind: 'group', by: 'speaker' }, 7), shard(train, 4, { kind: 'group', by: 'speaker' }, 8))
  // the held-out set has groupings too (21 of the 43 speakers)
  checkGroupShards(loadSotu().test, 'speaker', 4, 1)
})
