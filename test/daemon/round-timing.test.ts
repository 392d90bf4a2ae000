// Round timing from typed driver events (no log text), against hand-made events.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RoundTimer } from '../../src/daemon/round-timing.js'
import type { Commit, ChainState } from '../../src/round/index.js'

test('driver events and received gossip fill one record per round, closed when persisted', () => {
  const t = new RoundTimer({ loopDelay: false })
  const commit = { round: 2 } as unknown as Commit
  t.onDriverEvent({ type: 'roundStarted', round: 2, at: 100 })
  t.trainStarted(2, 110)
  t.trainDone(2, 200)
  t.onDriverEvent({ type: 'trained', round: 2, samples: 10, encodeMs: 3, at: 201 })
  t.onDriverEvent({ type: 'announced', round: 2, updateId: 'u', size: 9, at: 202 })
  t.announceReceived(2, 205)
  t.announceReceived(2, 230)
  t.onDriverEvent({ type: 'fetched', id: 'u1', kind: 'update', round: 2, ok: true, bytes: 1000, startAt: 210, at: 250 })
  t.onDriverEvent({ type: 'fetched', id: 'u2', kind: 'update', round: 2, ok: false, bytes: 0, startAt: 210, at: 260, reason: 'x' })
  t.onDriverEvent({ type: 'setClosed', round: 2, rank: 0, included: 3, at: 240 })
  t.onDriverEvent({ type: 'committed', round: 2, rank: 0, included: 3, at: 270 })
  t.onDriverEvent({ type: 'applied', commit, state: {} as ChainState, verified: 'self', computeMs: 4, at: 275 })
  t.commitReceived(2, 280) // a gossip copy after applying changes nothing
  const r = t.close(2, 300)
  assert.deepEqual({ ...r, fetches: r.fetches.length }, {
    startedAt: 100, trainStartAt: 110, trainedAt: 200, encodeMs: 3, announcedAt: 202, firstAnnounceAt: 205, lastAnnounceAt: 230,
    closedAt: 240, commitPublishedAt: 270, computeMs: 4, appliedAt: 275, persistedAt: 300, fetches: 2, fetchedBytes: 1000, fetchMs: 90
  })
  // a commit pulled (missed in gossip) is when this node received it
  t.onDriverEvent({ type: 'commitPulled', round: 3, from: 'p', at: 400 })
  assert.equal(t.of(3).commitReceivedAt, 400)
  // closed records are gone: the next use starts afresh
  assert.deepEqual(t.of(2), { fetches: [], fetchedBytes: 0, fetchMs: 0 })
})
