// A wake the engine asked for must not come before the clock reads its time: the engine asks once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { WallTimers } from '../../src/net/wall-timers.js'

test('a timer whose setTimeout fires before the clock reads its time waits on, then runs once', async () => {
  // a clock that stands still stands for Date.now() lagging Node's monotonic timer clock
  let clock = 1_000
  const timers = new WallTimers(() => clock)
  const seen: number[] = []
  timers.at(1_010, () => seen.push(clock))
  await sleep(60)
  assert.deepEqual(seen, [], 'not run while the clock reads 1000')
  clock = 1_010
  await sleep(40)
  assert.deepEqual(seen, [1_010], 'run once the clock reached its time')
  await sleep(30)
  assert.deepEqual(seen, [1_010], 'and only once')
  timers.close()
})

test('a time already passed runs at once; close cancels what is pending and ignores later calls', async () => {
  const timers = new WallTimers()
  const seen: string[] = []
  timers.at(Date.now() - 5, () => seen.push('passed'))
  timers.at(Date.now() + 40, () => seen.push('pending'))
  await sleep(15)
  assert.deepEqual(seen, ['passed'])
  timers.close()
  timers.at(Date.now(), () => seen.push('after close'))
  await sleep(60)
  assert.deepEqual(seen, ['passed'])
})
