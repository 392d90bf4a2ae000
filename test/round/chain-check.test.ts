// Replaying a chain from a known head: what a syncing node checks before adopting a peer's state.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'
import { checkChain, electionRank } from '../../src/round/index.js'
import type { ChainHead, Commit } from '../../src/round/index.js'

/** Run `rounds` rounds and return the genesis head and the commits every node applied, in order. */
function ranChain (h: Harness, rounds: number): { genesis: ChainHead, chain: Commit[] } {
  const g = h.engines.get('peer-0')!.state
  const genesis = { round: g.round, modelId: g.modelId, electorate: g.electorate }
  h.startAll()
  h.run(rounds - 1)
  const applied = h.applied.get('peer-0')!
  const chain = applied.map(a => h.commits.find(c => c.commit.round === a.round && c.commit.newModelId === a.modelId)!.commit)
  assert.equal(chain.length, rounds)
  return { genesis, chain }
}

const refusedAt = (r: ReturnType<typeof checkChain>): { round: number, reason: string } => {
  assert.equal(r.ok, false, 'the chain must be refused')
  if (r.ok) throw new Error('unreachable')
  return { round: r.round, reason: r.refusal.reason }
}

for (const config of [
  { mode: 'gossip' as const },
  { mode: 'aggregator' as const, codec: 'topk:0.25+q8', aggregateCodec: 'int8' },
  { mode: 'hierarchical' as const, groupSize: 3, codec: 'topk:0.25+q8', aggregateCodec: 'int8', subAggregateCodec: 'int8' }
]) {
  test(`${config.mode}: the applied chain replays to the engines' own head`, () => {
    const h = new Harness({ nodes: 7, config })
    const { genesis, chain } = ranChain(h, 4)
    const r = checkChain(genesis, chain, h.cfg)
    assert.ok(r.ok, r.ok ? '' : r.refusal.reason)
    const s = h.engines.get('peer-3')!.state
    assert.deepEqual(r.head, { round: s.round, modelId: s.modelId, electorate: s.electorate })
    // a suffix replays from the head the prefix ends at
    const mid = checkChain(genesis, chain.slice(0, 2), h.cfg)
    assert.ok(mid.ok)
    assert.deepEqual(checkChain(mid.head, chain.slice(2), h.cfg), r)
  })
}

test('a forged, reordered or gapped chain is refused at the first bad commit', () => {
  const h = new Harness({ nodes: 6 })
  const { genesis, chain } = ranChain(h, 4)
  const at = (i: number, edit: (c: Commit) => Commit): Commit[] => chain.map((c, j) => j === i ? edit(c) : c)

  // a commit that extends a model the chain never produced
  assert.deepEqual(refusedAt(checkChain(genesis, at(2, c => ({ ...c, prevModelId: 'f'.repeat(64) })), h.cfg)).round, 2)
  // a round left out
  assert.match(refusedAt(checkChain(genesis, [chain[0], ...chain.slice(2)], h.cfg)).reason, /round 2 where round 1 was due/)
  // authored by a peer the election did not pick, or by a real candidate under another's rank
  assert.match(refusedAt(checkChain(genesis, at(1, c => ({ ...c, aggregator: 'mallory' })), h.cfg)).reason, /not the candidate of rank/)
  const ranked = electionRank(h.cfg.runId, 1, chain[0].newModelId, genesis.electorate)
  assert.match(refusedAt(checkChain(genesis, at(1, c => ({ ...c, aggregator: ranked[1], rank: 0 })), h.cfg)).reason, /not the candidate of rank 0/)
  // a malformed update list, and a commit from a head whose electorate is unknown
  assert.match(refusedAt(checkChain(genesis, at(3, c => ({ ...c, included: [...c.included, c.included[0]] })), h.cfg)).reason, /sorted|twice/)
  assert.match(refusedAt(checkChain({ ...genesis, electorate: [] }, chain, h.cfg)).reason, /no electorate/)
  // the chain from a head of another model: the peer is on another fork
  assert.equal(refusedAt(checkChain({ ...genesis, modelId: '0'.repeat(64) }, chain, h.cfg)).round, 0)
  // nothing to replay: the head stands
  assert.deepEqual(checkChain(genesis, [], h.cfg), { ok: true, head: genesis })
})

test('hierarchical: a commit that drops its group folds is refused', () => {
  const h = new Harness({ nodes: 7, config: { mode: 'hierarchical', groupSize: 3, codec: 'topk:0.25+q8', aggregateCodec: 'int8', subAggregateCodec: 'int8' } })
  const { genesis, chain } = ranChain(h, 3)
  const bad = chain.map((c, j) => j === 1 ? { ...c, subAggregates: [] } : c)
  assert.equal(refusedAt(checkChain(genesis, bad, h.cfg)).round, 1)
})
