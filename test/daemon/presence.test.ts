// Presence against fakes: what the driver learns (peers ahead, live set) and what is published.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PresenceTracker } from '../../src/daemon/presence.js'
import { createLogger } from '../../src/cli/log.js'
import type { Presence } from '../../src/round/index.js'

function tracker (applied = 4): { p: PresenceTracker, clock: { t: number }, seenAt: Array<[string, number]>, lives: string[][], sent: Presence[] } {
  const clock = { t: 10_000 }
  const seenAt: Array<[string, number]> = []
  const lives: string[][] = []
  const sent: Presence[] = []
  const p = new PresenceTracker({
    self: 'me', runId: 'run', capacity: 1, now: () => clock.t,
    position: () => ({ appliedRound: applied, modelId: 'm' }),
    publish: async msg => { sent.push(msg) },
    peerAt: (peer, round) => seenAt.push([peer, round]),
    setLive: live => lives.push(live),
    log: createLogger('silent', 2)
  }, { periodMs: 1000 })
  return { p, clock, seenAt, lives, sent }
}

const presence = (peerId: string, round: number): Presence => ({ runId: 'run', peerId, round, modelId: 'm', capacity: 1 })

test('a presence tells the driver where its author stands and refreshes the live set', () => {
  const { p, seenAt, lives } = tracker()
  p.onAnnounce('a', 5)
  p.onAnnounce('b', 4)
  p.onPresence(presence('a', 5), 'a')
  p.onPresence(presence('b', 4), 'b')
  assert.deepEqual(seenAt, [['a', 5], ['b', 4]])
  assert.deepEqual(lives.at(-1)!.sort(), ['a', 'b'])
})

test('the live set drops peers silent for three periods and peers more than a round behind', () => {
  const { p, clock } = tracker(4)
  for (const id of ['fresh', 'behind', 'stale']) p.onAnnounce(id, 4)
  p.onPresence(presence('fresh', 4), 'fresh')
  p.onPresence(presence('behind', 2), 'behind')
  p.onPresence(presence('stale', 4), 'stale')
  clock.t += 2500
  p.onPresence(presence('fresh', 4), 'fresh')
  assert.deepEqual(p.live().sort(), ['fresh', 'stale'])
  clock.t += 1000
  assert.deepEqual(p.live(), ['fresh'])
})

test('a peer that is present but never announces is not live: no closing candidate waits for it', () => {
  const { p, clock } = tracker(4)
  p.onPresence(presence('idle', 4), 'idle')
  p.onPresence(presence('worker', 4), 'worker')
  p.onAnnounce('worker', 4)
  assert.deepEqual(p.live(), ['worker'])
  // one that contributed two rounds ago, no longer
  p.onAnnounce('idle', 2)
  clock.t += 10
  assert.deepEqual(p.live(), ['worker'])
  p.onAnnounce('idle', 3)
  assert.deepEqual(p.live().sort(), ['idle', 'worker'])
})

test('peers ahead are offered most advanced first, and none when nobody is ahead', () => {
  const { p } = tracker(4)
  p.onPresence(presence('x', 3), 'x')
  assert.deepEqual(p.ahead(['x']), [])
  p.onPresence(presence('y', 7), 'y')
  p.onAnnounce('z', 6) // announced round 6: applied 5
  assert.deepEqual(p.ahead(['x', 'z', 'y']), ['y', 'z', 'x'])
})

test('each published presence is distinct bytes (a fresh seq) even within one millisecond', async () => {
  const { p, sent } = tracker()
  await p.publish()
  await p.publish()
  assert.equal(sent.length, 2)
  assert.ok(sent[1].seq! > sent[0].seq!)
  assert.equal(sent[0].round, 4)
})
