// Tests of the roster: founding members, admissions and changes give one member set per round, whatever the arrival order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { admit, changeMembership, membersAt, Roster, verifyRosterDoc, ManifestError, ManifestErrorCode, type RosterDoc, type MembershipChange } from '../../src/manifest/index.js'
import { peer, manifestOf, NOW } from './fixtures.js'

test('admissions and changes move peers in and out at their rounds', async () => {
  const [alice, bob, carol, dave] = await Promise.all([peer(1), peer(2), peer(3), peer(4)])
  const m = await manifestOf(alice, { members: [{ peerId: alice.id }, { peerId: bob.id, capacity: 2 }] })
  const r = new Roster(m)
  assert.equal(r.isMember(carol.id, 0), false)
  assert.equal(r.mayConnect(carol.id, 0), false)
  const a = await verifyRosterDoc(m, JSON.parse(JSON.stringify(await admit(m, carol.id, alice.key))), NOW)
  assert.equal(a.kind, 'admission')
  assert.equal(r.add(a), true)
  assert.equal(r.add(a), false, 'a copy is one document')
  assert.equal(r.isMember(carol.id, 0), true)
  const later = await verifyRosterDoc(m, await admit(m, dave.id, alice.key, { validFromRound: 5 }), NOW)
  r.add(later)
  assert.equal(r.isMember(dave.id, 4), false)
  assert.equal(r.mayConnect(dave.id, 4), true, 'admitted from a later round: may connect to catch up')
  assert.equal(r.isMember(dave.id, 5), true)
  const rm = await verifyRosterDoc(m, await changeMembership(m, { op: 'remove', peerId: bob.id, effectiveRound: 3 }, alice.key), NOW)
  assert.equal(rm.kind, 'change')
  r.add(rm)
  assert.equal(r.isMember(bob.id, 2), true)
  assert.equal(r.isMember(bob.id, 3), false)
  assert.equal(r.mayConnect(bob.id, 3), false)
  assert.equal(r.capacityOf(bob.id, 2), 2)
  assert.deepEqual(r.membersAt(6).map(x => x.peerId), [alice.id, carol.id, dave.id].sort())
})

test('fold weights come from the roster: declared samples, 1 when none is declared, none for a non-member', async () => {
  const [alice, bob, carol] = await Promise.all([peer(1), peer(2), peer(3)])
  const m = await manifestOf(alice, { members: [{ peerId: alice.id, samples: 60_000 }, { peerId: bob.id, capacity: 2 }] })
  const r = new Roster(m)
  assert.deepEqual(r.limitsOf(alice.id, 0), { capacity: 1, samples: 60_000 })
  assert.deepEqual(r.limitsOf(bob.id, 0), { capacity: 2, samples: 1 })
  assert.equal(r.limitsOf(carol.id, 0), undefined)
  r.add(await verifyRosterDoc(m, await changeMembership(m, { op: 'add', peerId: carol.id, effectiveRound: 2, samples: 500 }, alice.key), NOW))
  assert.equal(r.limitsOf(carol.id, 1), undefined)
  assert.deepEqual(r.limitsOf(carol.id, 2), { capacity: 1, samples: 500 })
  await assert.rejects(changeMembership(m, { op: 'remove', peerId: carol.id, effectiveRound: 3, samples: 5 }, alice.key), { code: ManifestErrorCode.Schema })
  await assert.rejects(manifestOf(alice, { members: [{ peerId: alice.id, samples: 0 }] }), { code: ManifestErrorCode.Schema })
})

test('a forged or foreign document is refused before it reaches the roster', async () => {
  const [alice, bob, carol] = await Promise.all([peer(1), peer(2), peer(3)])
  const m = await manifestOf(alice, { members: [{ peerId: alice.id }, { peerId: bob.id }] })
  const code = (c: ManifestErrorCode) => (err: unknown) => err instanceof ManifestError && err.code === c
  const adm = await admit(m, carol.id, alice.key)
  await assert.rejects(verifyRosterDoc(m, { ...adm, peerId: bob.id }, NOW), code(ManifestErrorCode.BadSignature))
  const other = await manifestOf(alice, { name: 'other run' })
  await assert.rejects(verifyRosterDoc(other, adm, NOW), code(ManifestErrorCode.WrongRun))
  await assert.rejects(admit(m, carol.id, bob.key), code(ManifestErrorCode.NotAdmin))
  await assert.rejects(verifyRosterDoc(m, { op: 'add' }, NOW), code(ManifestErrorCode.Schema))
  await assert.rejects(verifyRosterDoc(m, 'garbage', NOW), code(ManifestErrorCode.Schema))
})

test('the member set is the same for every arrival order, and agrees with membersAt for changes', async () => {
  const ps = await Promise.all([1, 2, 3, 4, 5].map(peer))
  const m = await manifestOf(ps[0], { members: [{ peerId: ps[0].id }, { peerId: ps[1].id }] })
  const docs: RosterDoc[] = []
  const changes: MembershipChange[] = []
  for (const [i, p] of ps.entries()) {
    const c = await changeMembership(m, { op: i % 2 === 0 ? 'add' : 'remove', peerId: p.id, effectiveRound: i % 3, capacity: i % 2 === 0 ? i + 1 : undefined }, ps[0].key)
    changes.push(c)
    docs.push({ kind: 'change', doc: c })
  }
  await fc.assert(fc.asyncProperty(fc.shuffledSubarray(docs, { minLength: docs.length }), async order => {
    const r = new Roster(m, order)
    for (const round of [0, 1, 2, 3]) assert.deepEqual(r.membersAt(round), membersAt(m, changes, round))
  }), { numRuns: 30 })
})
