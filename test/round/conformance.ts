// One conformance suite for every RoundTransport: in memory (test/round/harness.ts), the modelled
// network (src/sim) and libp2p (src/net/round-transport.ts) each run the same five scenarios
// through the same RoundDriver and must come out the same way.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RefusalCode, type DriverEvent } from '../../src/round/index.js'

/** Faults a scenario injects; every implementation must be able to apply each. */
export interface Faults {
  /** the elected aggregator of round 0 never runs */
  deadAggregator?: boolean
  /** the elected aggregator of round 0 publishes (and serves) a commit whose model is not its fold */
  lyingAggregator?: boolean
  /** gossip loses the commit of round 0 on its way to the last founding member that is not its author */
  dropCommitToLast?: boolean
  /** one more member starts after round 1 was applied and must catch up */
  lateJoiner?: boolean
}

export interface Outcome {
  /** founding members, in order */
  peers: string[]
  /** the faulty peers, when the scenario has them */
  dead?: string
  liar?: string
  dropped?: string
  late?: string
  applied: Map<string, Array<{ round: number, modelId: string, verified: string, rank: number }>>
  events: Map<string, DriverEvent[]>
}

/** Runs `nodes` founding members with `faults` until every live one applied round `rounds - 1` (or a bound). */
export type RunScenario = (nodes: number, rounds: number, faults: Faults) => Promise<Outcome>

const modelOf = (o: Outcome, p: string, round: number): string | undefined => o.applied.get(p)?.find(a => a.round === round)?.modelId

function agree (o: Outcome, peers: string[], round: number): string {
  const ids = peers.map(p => modelOf(o, p, round))
  assert.ok(ids.every(id => id != null), `every peer applied round ${round}: ${JSON.stringify(ids)}`)
  assert.equal(new Set(ids).size, 1, `one model for round ${round}`)
  return ids[0]!
}

export function conformance (name: string, run: RunScenario, opts: { timeout?: number } = {}): void {
  const t = { timeout: opts.timeout ?? 120_000 }

  test(`${name}: rounds commit and every member holds the same models`, t, async () => {
    const o = await run(4, 3, {})
    for (let r = 0; r < 3; r++) agree(o, o.peers, r)
    const verified = new Set(o.peers.flatMap(p => o.applied.get(p)!.map(a => a.verified)))
    assert.ok(verified.has('self') && verified.has('full'), `authored and fully verified commits (${[...verified].join(', ')})`)
  })

  test(`${name}: a late joiner syncs through the chain check and then applies rounds with everyone`, t, async () => {
    const o = await run(3, 4, { lateJoiner: true })
    const late = o.late!
    const synced = o.events.get(late)!.filter(e => e.type === 'synced')
    assert.ok(synced.length >= 1, 'the late joiner adopted a checked state')
    assert.ok(!o.events.get(late)!.some(e => e.type === 'syncRefused'), 'no honest chain was refused')
    const after = o.applied.get(late)!
    assert.ok(after.length >= 1, 'it applied a round after syncing')
    for (const a of after) assert.equal(a.modelId, modelOf(o, o.peers[0], a.round), `round ${a.round}: the founders' model`)
  })

  test(`${name}: a dead aggregator's first backup commits the round`, t, async () => {
    const o = await run(4, 1, { deadAggregator: true })
    const live = o.peers.filter(p => p !== o.dead)
    agree(o, live, 0)
    const r0 = o.applied.get(live[0])!.find(a => a.round === 0)!
    assert.ok(r0.rank >= 1, `committed by backup ${r0.rank}`)
  })

  test(`${name}: a lying commit is refused with its code and a backup commits instead`, t, async () => {
    const o = await run(4, 1, { lyingAggregator: true })
    const honest = o.peers.filter(p => p !== o.liar)
    const refusals = honest.flatMap(p => o.events.get(p)!).filter(e => e.type === 'refused' && e.what === 'commit' && e.from === o.liar)
    assert.ok(refusals.some(e => e.type === 'refused' && e.code === RefusalCode.FoldMismatch), 'members recomputed the fold and refused the commit')
    const m = agree(o, honest, 0)
    assert.ok(honest.every(p => o.applied.get(p)!.find(a => a.round === 0)!.rank >= 1), 'the round was committed by a backup')
    assert.notEqual(m, undefined)
  })

  test(`${name}: a commit lost in gossip is pulled from a peer that applied it`, t, async () => {
    const o = await run(4, 2, { dropCommitToLast: true })
    const d = o.dropped!
    for (let r = 0; r < 2; r++) agree(o, o.peers, r)
    assert.ok(o.events.get(d)!.some(e => e.type === 'commitPulled' && e.round === 0), 'the commit of round 0 was pulled')
  })
}
