// A fetched blob is hashed once: by the transport when it says it checked the bytes against their
// id (the daemon's fetch does, off the event loop for large blobs), by the engine otherwise.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness } from './harness.js'

const ROUNDS = 3

function run (checked: boolean): Harness {
  const h = new Harness({ nodes: 4, params: 4096, config: { mode: 'gossip' }, deliver: (_p, _id, bytes) => ({ bytes, checked }) })
  h.startAll()
  h.run(ROUNDS - 1)
  return h
}

function fetchedBytes (h: Harness, peer: string): number {
  return h.eventsOf('fetched', peer).filter(f => f.ok).reduce((n, f) => n + f.bytes, 0)
}

test('the engine does not hash again what the transport checked, and hashes what it did not', () => {
  const unchecked = run(false)
  const checked = run(true)
  for (const p of checked.peers) {
    const fetched = fetchedBytes(checked, p)
    assert.ok(fetched > 0, `${p} fetched updates`)
    assert.equal(fetchedBytes(unchecked, p), fetched, `${p} fetched the same in both runs`)
    assert.equal(unchecked.hashed.get(p)! - checked.hashed.get(p)!, fetched, `${p}: exactly the fetched bytes are hashed once less`)
    const models = (h: Harness): string[] => h.applied.get(p)!.map(a => a.modelId)
    assert.deepEqual(models(checked), models(unchecked), `${p} derives the same models`)
  }
})

test('bytes the transport did not check and that do not match their id are refused, and fetched again', () => {
  const spoiled = new Set<string>()
  // peer-1's first fetch of every update comes back with one bit flipped
  const h = new Harness({
    nodes: 4,
    config: { mode: 'gossip' },
    deliver: (p, id, bytes) => {
      if (p !== 'peer-1' || spoiled.has(id)) return { bytes }
      spoiled.add(id)
      const bad = bytes.slice()
      bad[bad.length - 1] ^= 1
      return { bytes: bad }
    }
  })
  h.startAll()
  h.run(ROUNDS - 1)
  assert.ok(spoiled.size >= 3 * ROUNDS - 1, `peer-1 got spoiled bytes (${spoiled.size} fetches)`)
  const got = h.eventsOf('fetched', 'peer-1').filter(f => f.ok).map(f => f.id)
  for (const id of spoiled) assert.equal(got.filter(g => g === id).length, 2, `${id.slice(0, 8)} fetched again after its bytes were refused`)
  for (let r = 0; r < ROUNDS; r++) {
    const models = h.peers.map(p => h.applied.get(p)!.find(a => a.round === r)?.modelId)
    assert.ok(models.every(m => m != null) && new Set(models).size === 1, `round ${r}: one model everywhere`)
  }
  for (const { commit } of h.commits) assert.equal(commit.included.length, 4, `round ${commit.round} folds every update`)
})
