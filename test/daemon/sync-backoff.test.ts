// A peer whose chain was refused is not asked again for a while (doubling), and at once after an adopted sync.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SyncBackoff } from '../../src/daemon/sync-backoff.js'

test('refusals pause a peer for 30 s, doubling to 10 min; an adopted sync clears it', () => {
  const clock = { t: 0 }
  const b = new SyncBackoff(() => clock.t)
  assert.deepEqual(b.usable(['a', 'b']), ['a', 'b'])
  assert.equal(b.refused('a'), 30_000)
  assert.deepEqual(b.usable(['a', 'b']), ['b'])
  clock.t += 30_000
  assert.deepEqual(b.usable(['a', 'b']), ['a', 'b'])
  assert.equal(b.refused('a'), 60_000)
  for (let i = 0; i < 6; i++) b.refused('a')
  assert.equal(b.refused('a'), 600_000)
  clock.t += 599_999
  assert.deepEqual(b.usable(['a']), [])
  b.adopted('a')
  assert.deepEqual(b.usable(['a']), ['a'])
  assert.equal(b.refused('a'), 30_000)
})
