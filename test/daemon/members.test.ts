// The node's membership gates: who may connect, whose gossip reaches the engine, which documents are kept (and saved first).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { admit, changeMembership, Roster } from '../../src/manifest/index.js'
import { RunMembers } from '../../src/daemon/members.js'
import { dataDirPaths } from '../../src/daemon/datadir.js'
import { loadRoster } from '../../src/daemon/run-files.js'
import { peer, manifestOf, NOW } from '../manifest/fixtures.js'

test('gates follow the roster at the node\'s round: connect, gossip by kind and round, commits that fold outsiders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-members-'))
  try {
    const [alice, bob, carol, eve] = await Promise.all([peer(1), peer(2), peer(3), peer(9)])
    const manifest = await manifestOf(alice, { members: [{ peerId: alice.id }, { peerId: bob.id }] })
    const paths = dataDirPaths(dir)
    const m = new RunMembers({ manifest, roster: new Roster(manifest), paths, now: () => NOW })
    let round = 0
    m.round = () => round
    const changed: string[] = []
    m.onChange = d => changed.push(d.doc.peerId)

    assert.equal(m.mayConnect(bob.id), true)
    assert.equal(m.mayConnect(eve.id), false)
    const commit = (from: string, r: number, included: string[]): unknown => ({ runId: manifest.runId, round: r, aggregator: from, rank: 0, prevModelId: 'x', included: included.map(p => ({ updateId: 'u', peerId: p, samples: 1, capacity: 1 })), newModelId: 'y', aggregateId: '' })
    assert.equal(m.gossipGate('presence', {}, eve.id), 'reject')
    assert.equal(m.gossipGate('announce', { round: 0, capacity: 1, samples: 1 }, eve.id), 'reject')
    assert.equal(m.gossipGate('announce', { round: 0, capacity: 1, samples: 1 }, bob.id), 'accept')
    // election weight comes from the manifest: an inflated claim is refused, in an announce or in a commit
    assert.equal(m.gossipGate('announce', { round: 0, capacity: 1e9, samples: 1 }, bob.id), 'reject')
    assert.equal(m.gossipGate('commit', { ...commit(alice.id, 0, [alice.id]) as object, included: [{ updateId: 'u', peerId: alice.id, samples: 1, capacity: 1e9 }] }, alice.id), 'reject')
    assert.equal(m.gossipGate('commit', commit(alice.id, 0, [alice.id, bob.id]), alice.id), 'accept')
    // so does the fold weight: bob declares none (weight 1), so 2^53−1 samples are refused
    assert.equal(m.gossipGate('announce', { round: 0, capacity: 1, samples: 2 ** 53 - 1 }, bob.id), 'reject')
    assert.equal(m.gossipGate('commit', { ...commit(alice.id, 0, [alice.id]) as object, included: [{ updateId: 'u', peerId: alice.id, samples: 60_000, capacity: 1 }] }, alice.id), 'reject')
    assert.equal(m.gossipGate('commit', commit(alice.id, 0, [alice.id, eve.id]), alice.id), 'reject', 'a member folding an outsider')
    assert.equal(m.gossipGate('unknown-kind', {}, alice.id), 'reject')

    // an admission from round 3: may connect now (to catch up), but takes part from round 3
    assert.equal(await m.accept(JSON.parse(JSON.stringify(await admit(manifest, carol.id, alice.key, { validFromRound: 3 }))), 'test'), 'new')
    assert.equal(await m.accept(await admit(manifest, carol.id, alice.key, { validFromRound: 3 }), 'test'), 'known')
    assert.deepEqual(changed, [carol.id])
    assert.equal(m.mayConnect(carol.id), true)
    assert.equal(m.gossipGate('announce', { round: 2, capacity: 1, samples: 1 }, carol.id), 'reject')
    assert.equal(m.gossipGate('announce', { round: 3, capacity: 1, samples: 1 }, carol.id), 'accept')

    // bob removed from round 5: a member until then, refused from then on
    assert.equal(await m.accept(await changeMembership(manifest, { op: 'remove', peerId: bob.id, effectiveRound: 5 }, alice.key), 'test'), 'new')
    round = 4
    assert.equal(m.mayConnect(bob.id), true)
    round = 5
    assert.equal(m.mayConnect(bob.id), false)
    assert.equal(m.gossipGate('announce', { round: 5, capacity: 1, samples: 1 }, bob.id), 'reject')
    assert.equal(m.membersAmong(alice.id, [bob.id, carol.id, eve.id]), 2)

    // forged and foreign documents are refused and not saved
    const forged = { ...(await admit(manifest, eve.id, alice.key)), peerId: bob.id }
    assert.equal(await m.accept(forged, 'test'), 'invalid')
    assert.equal(await m.accept(await admit(await manifestOf(alice, { name: 'other' }), eve.id, alice.key), 'test'), 'invalid')
    assert.equal(await m.accept('{"op":1}', 'test'), 'invalid')
    assert.equal((await readdir(paths.membership)).length, 2)
    // what was saved is what a restart reads back
    const reread = await loadRoster(paths, manifest, 0)
    assert.deepEqual(reread.skipped, [])
    assert.equal(reread.roster.isMember(carol.id, 3), true)
    assert.equal(reread.roster.isMember(bob.id, 5), false)
  } finally { await rm(dir, { recursive: true, force: true }) }
})
