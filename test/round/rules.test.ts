// Every fold rule driven through RoundEngine: commits with each rule in each mode, and rounds with too
// few inputs (dead peers) that wait for the rule's minimum, then fold by the documented fallback, which
// every member verifies.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { FOLD_FALLBACK, RefusalCode, type RoundConfig } from '../../src/round/index.js'
import { parseFoldSpec } from '../../src/aggregate/index.js'

const RULES = ['mean', 'median', 'trimmed:0.2', 'krum:1', 'krum:1:3', 'median+clip:median*2', 'trimmed:0.2+clip:0.05']
const MODES: Record<'gossip' | 'aggregator', Partial<RoundConfig>> = {
  gossip: { mode: 'gossip', codec: 'fp32' },
  aggregator: { mode: 'aggregator', codec: 'topk:0.25+q8', aggregateCodec: 'int8' }
}

function agreed (h: Harness, round: number): string {
  const ids = h.peers.filter(p => h.alive(p)).map(p => h.applied.get(p)!.find(a => a.round === round)?.modelId)
  assert.ok(ids.every(id => id != null), `every live peer applied round ${round}`)
  assert.equal(new Set(ids).size, 1, 'all peers hold the same model')
  return ids[0]!
}

const fallbacks = (h: Harness): Array<Record<string, unknown>> => h.logs.filter(l => l.msg === FOLD_FALLBACK).map(l => ({ peer: l.peer, level: l.level, ...l.data }))

for (const [mode, config] of Object.entries(MODES)) {
  test(`${mode} mode: every rule commits 3 rounds of all 6 updates, verified by every member, no fallback`, () => {
    const models = new Set<string>()
    for (const rule of RULES) {
      const h = new Harness({ nodes: 6, config: { ...config, rule: parseFoldSpec(rule) } })
      h.startAll()
      h.run(2)
      for (let r = 0; r < 3; r++) models.add(agreed(h, r))
      for (const { commit } of h.commits) assert.equal(commit.included.length, 6, rule)
      const verified = new Set(h.peers.flatMap(p => h.applied.get(p)!.map(a => a.verified)))
      assert.ok(verified.has(mode === 'gossip' ? 'full' : 'aggregate'), rule)
      assert.deepEqual(fallbacks(h), [], rule)
    }
    assert.ok(models.size >= 3 * (RULES.length - 1), 'the rules fold to different models')
  })

  test(`${mode} mode: too few inputs for krum:1 — the round waits for the rule, then folds by the median and every member verifies it`, () => {
    const probe = new Harness({ nodes: 6, config: { ...config, rule: parseFoldSpec('krum:1') } })
    probe.startAll()
    probe.run(0)
    const aggregator = probe.commits[0].commit.aggregator
    const dead = new Set(probe.peers.filter(p => p !== aggregator).slice(0, 2))
    const h = new Harness({ nodes: 6, dead, config: { ...config, rule: parseFoldSpec('krum:1') } })
    h.startAll()
    h.run(2)
    for (let r = 0; r < 3; r++) agreed(h, r)
    const first = h.commits[0]
    assert.equal(first.commit.included.length, 4)
    assert.equal(first.commit.rank, 0, 'no backup was needed: the aggregator folded by the fallback')
    // a quorum (3 of 6) was there at collectMs, but krum:1 needs 5: it waited until its last call
    assert.ok(first.at >= 0.75 * h.cfg.deadlineMs && first.at < h.cfg.deadlineMs, `closed at ${first.at}`)
    const logs = fallbacks(h)
    assert.equal(logs.length, 3, 'one warning per round, from its folder')
    logs.forEach((l, r) => assert.deepEqual(l, { peer: h.commits[r].commit.aggregator, level: 'warn', round: r, rule: 'krum:1', effective: 'median', inputs: 4 }))
    const verified = new Set(h.peers.filter(p => h.alive(p)).flatMap(p => h.applied.get(p)!.map(a => a.verified)))
    assert.ok(verified.has(mode === 'gossip' ? 'full' : 'aggregate'))
    // the fallback commit is what a median run commits over the same four updates
    const median = new Harness({ nodes: 6, dead, config: { ...config, rule: parseFoldSpec('median') } })
    median.startAll()
    median.run(0)
    assert.equal(agreed(median, 0), agreed(h, 0))
  })
}

test('aggregator mode: a commit folded by the mean where the rule falls back to the median is rejected, the backup commits the median', () => {
  const cfg = { ...MODES.aggregator, rule: parseFoldSpec('trimmed:0.2') }
  const probe = new Harness({ nodes: 6, config: cfg })
  probe.startAll()
  probe.run(0)
  const aggregator = probe.commits[0].commit.aggregator
  const dead = new Set(probe.peers.filter(p => p !== aggregator).slice(0, 2))
  const mean = new Harness({ nodes: 6, dead, config: { ...MODES.aggregator, rule: parseFoldSpec('trimmed:0') } })
  mean.startAll()
  mean.run(0)
  const wrong = mean.commits[0].commit
  const h = new Harness({ nodes: 6, dead, config: cfg, tamper: c => c.aggregator === aggregator && c.round === 0 ? { ...c, newModelId: wrong.newModelId, aggregateId: wrong.aggregateId } : c })
  h.startAll()
  h.run(0)
  const applied = h.commits.find(c => c.commit.rank === 1)
  assert.ok(applied != null, 'the first backup committed round 0')
  assert.notEqual(agreed(h, 0), wrong.newModelId)
  assert.ok(h.eventsOf('refused').some(r => r.what === 'commit' && r.code === RefusalCode.FoldMismatch))
})

test('hierarchical mode: a group with too few inputs folds by the median; its candidates and the root verify it', () => {
  const h = new Harness({
    nodes: 12,
    dead: new Set(['peer-1', 'peer-2', 'peer-3']),
    config: { mode: 'hierarchical', groupSize: 6, codec: 'topk:0.25+q8', aggregateCodec: 'int8', subAggregateCodec: 'int8', rule: parseFoldSpec('krum:1') }
  })
  h.startAll()
  h.run(2)
  for (let r = 0; r < 3; r++) agreed(h, r)
  const logs = fallbacks(h)
  assert.ok(logs.length >= 1, 'a group fell back')
  for (const l of logs) {
    assert.equal(l.effective, 'median')
    assert.equal(typeof l.group, 'number')
    assert.ok((l.inputs as number) < 5)
  }
})
