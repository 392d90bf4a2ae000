import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { createRoundConfig, RoundError, RoundErrorCode, RefusalCode } from '../../src/round/index.js'

function modelIdsAgree (h: Harness, round: number): string {
  const ids = h.peers.filter(p => h.alive(p)).map(p => h.applied.get(p)!.find(a => a.round === round)?.modelId)
  assert.ok(ids.every(id => id != null), `every live peer applied round ${round}`)
  assert.equal(new Set(ids).size, 1, 'all peers hold the same model')
  return ids[0]!
}

for (const mode of ['gossip', 'aggregator'] as const) {
  test(`${mode} mode: 5 rounds, every node derives the same models and verifies them`, () => {
    const h = new Harness({ nodes: 6, config: { mode, codec: mode === 'gossip' ? 'fp32' : 'topk:0.25+q8', aggregateCodec: 'int8' } })
    h.startAll()
    h.run(4)
    for (let r = 0; r < 5; r++) modelIdsAgree(h, r)
    const verified = new Set(h.peers.flatMap(p => h.applied.get(p)!.map(a => a.verified)))
    assert.ok(verified.has('self'))
    assert.ok(verified.has(mode === 'gossip' ? 'full' : 'aggregate'))
    // every commit includes all six updates and closes as soon as all announced (well before collectMs)
    for (const { commit, at } of h.commits) {
      assert.equal(commit.included.length, 6)
      assert.equal(commit.rank, 0)
      assert.ok(at < (commit.round + 1) * 500, `round ${commit.round} closed at ${at} without waiting for the deadline`)
    }
  })
}

test('the fold does not depend on the order updates arrive in', () => {
  const a = new Harness({ nodes: 5 })
  const b = new Harness({ nodes: 5, shuffleSeed: 99 })
  for (const h of [a, b]) { h.startAll(); h.run(2) }
  for (let r = 0; r < 3; r++) assert.equal(modelIdsAgree(a, r), modelIdsAgree(b, r))
})

test('a dead aggregator costs one deadline: the first backup commits with every announced update', () => {
  const probe = new Harness({ nodes: 5 })
  probe.startAll()
  probe.run(0)
  const aggregator = probe.commits[0].commit.aggregator
  const h = new Harness({ nodes: 5, dead: new Set([aggregator]) })
  h.startAll()
  h.run(0)
  const c = h.commits[0]
  assert.equal(c.commit.rank, 1)
  assert.notEqual(c.commit.aggregator, aggregator)
  assert.equal(c.commit.included.length, 4, 'all four live updates included')
  assert.ok(c.at >= h.cfg.deadlineMs && c.at < h.cfg.deadlineMs + h.cfg.backupStepMs, `backup committed at ${c.at}`)
  modelIdsAgree(h, 0)
})

test('a commit whose model does not match its inputs is rejected and the backup takes the round', () => {
  const probe = new Harness({ nodes: 4 })
  probe.startAll()
  probe.run(0)
  const aggregator = probe.commits[0].commit.aggregator
  const h = new Harness({
    nodes: 4,
    tamper: c => c.aggregator === aggregator ? { ...c, newModelId: 'f'.repeat(64) } : c
  })
  h.startAll()
  h.run(0)
  assert.ok(h.eventsOf('refused').some(r => r.what === 'commit' && r.code === RefusalCode.FoldMismatch && r.from === aggregator), 'members rejected the bad commit')
  const honest = h.commits.find(c => c.commit.aggregator !== aggregator)
  assert.ok(honest != null, 'a backup committed')
  for (const p of h.peers.filter(p => p !== aggregator)) {
    const applied = h.applied.get(p)!.find(a => a.round === 0)
    assert.ok(applied != null)
    assert.equal(applied.modelId, honest.commit.newModelId)
  }
})

test('a commit from a peer that is not the candidate of its rank is refused', () => {
  const h = new Harness({ nodes: 4, tamper: c => ({ ...c, rank: (c.rank + 1) % 4 }) })
  h.startAll()
  h.run(0, 5000)
  assert.ok(h.eventsOf('refused').some(r => r.what === 'commit' && r.code === RefusalCode.NotElected))
})

test('bad settings are refused with a typed error', () => {
  const bad = (field: string) => (e: unknown): boolean => e instanceof RoundError && e.code === RoundErrorCode.BadConfig && e.field === field
  assert.throws(() => createRoundConfig({ runId: 'r', quorum: 0 }), bad('quorum'))
  assert.throws(() => createRoundConfig({ runId: 'r', codec: 'nonsense' }), bad('codec'))
  assert.throws(() => createRoundConfig({ runId: 'r', innerSteps: 0 }), bad('innerSteps'))
  assert.throws(() => createRoundConfig({ runId: 'r', deadlineMs: 100, collectMs: 200 }), bad('collectMs'))
})

test('aggregator mode: an author that dies right after committing leaves its aggregate served by the verifiers', () => {
  const h = new Harness({ nodes: 6, killAuthorOfRound: 1, config: { mode: 'aggregator', codec: 'topk:0.25+q8', aggregateCodec: 'int8' } })
  h.startAll()
  h.run(2)
  const [victim] = [...h.killed]
  assert.ok(victim != null, 'the round-1 author was killed')
  const committed = h.commits.find(c => c.commit.round === 1 && c.commit.aggregator === victim)!.commit
  for (const p of h.peers.filter(q => h.alive(q))) {
    const r1 = h.applied.get(p)!.find(a => a.round === 1)
    assert.equal(r1?.modelId, committed.newModelId, `${p} applied the dead author's round-1 commit`)
  }
  // members had only the aggregate to go on: they got it from a backup, not from the dead author
  const members = h.peers.filter(q => h.alive(q) && h.applied.get(q)!.find(a => a.round === 1)?.verified === 'aggregate')
  assert.ok(members.length > 0, 'some members applied the aggregate')
  modelIdsAgree(h, 2)
})
