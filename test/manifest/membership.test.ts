// Tests of membership changes: signed by admins only, applied at their round, the same member set whatever the arrival order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  changeMembership, membersAt, verifyMembershipChange, ManifestError, ManifestErrorCode, type MembershipChange
} from '../../src/manifest/index.js'
import { peer, manifestOf } from './fixtures.js'

const code = (c: ManifestErrorCode) => (err: unknown) => err instanceof ManifestError && err.code === c
const ids = (ms: Array<{ peerId: string }>) => ms.map(m => m.peerId)

test('changes take effect at their effective round', async () => {
  const [alice, bob, carol, dave] = await Promise.all([peer(1), peer(2), peer(3), peer(4)])
  const m = await manifestOf(alice, { members: [{ peerId: alice.id }, { peerId: bob.id }] })
  const changes = [
    await changeMembership(m, { op: 'add', peerId: carol.id, effectiveRound: 2, capacity: 3 }, alice.key),
    await changeMembership(m, { op: 'remove', peerId: bob.id, effectiveRound: 4 }, alice.key),
    await changeMembership(m, { op: 'add', peerId: dave.id, effectiveRound: 4 }, alice.key)
  ]
  for (const c of changes) assert.deepEqual(await verifyMembershipChange(m, JSON.parse(JSON.stringify(c))), c)
  assert.deepEqual(ids(membersAt(m, changes, 0)), [alice.id, bob.id].sort())
  assert.deepEqual(ids(membersAt(m, changes, 1)), [alice.id, bob.id].sort())
  assert.deepEqual(membersAt(m, changes, 2).find(x => x.peerId === carol.id), { peerId: carol.id, capacity: 3 })
  assert.deepEqual(ids(membersAt(m, changes, 4)), [alice.id, carol.id, dave.id].sort())
  assert.deepEqual(membersAt(m, changes, 9).find(x => x.peerId === dave.id), { peerId: dave.id, capacity: 1 })
})

test('only admins sign changes; tampered and other-run changes are refused', async () => {
  const [alice, bob, carol] = await Promise.all([peer(1), peer(2), peer(3)])
  const m = await manifestOf(alice, { members: [{ peerId: bob.id }] })
  await assert.rejects(changeMembership(m, { op: 'add', peerId: carol.id, effectiveRound: 1 }, bob.key), code(ManifestErrorCode.NotAdmin))
  const c = await changeMembership(m, { op: 'add', peerId: carol.id, effectiveRound: 1, capacity: 2 }, alice.key)
  await assert.rejects(verifyMembershipChange(m, { ...c, effectiveRound: 0 }), code(ManifestErrorCode.BadSignature))
  await assert.rejects(verifyMembershipChange(m, { ...c, signer: bob.id }), code(ManifestErrorCode.NotAdmin))
  await assert.rejects(verifyMembershipChange(m, { ...c, op: 'remove' }), code(ManifestErrorCode.Schema))
  const other = await manifestOf(alice, { name: 'other' })
  await assert.rejects(verifyMembershipChange(other, c), code(ManifestErrorCode.WrongRun))
  assert.throws(() => membersAt(other, [c], 1), code(ManifestErrorCode.WrongRun))
  assert.throws(() => membersAt(m, [{ ...c, signer: bob.id }], 1), code(ManifestErrorCode.NotAdmin))
})

test('membersAt is the same whatever order the changes arrive in (conflicts included)', async () => {
  const peers = await Promise.all([1, 2, 3, 4, 5, 6].map(peer))
  const [alice, admin2] = peers
  const m = await manifestOf(alice, { admins: [admin2.id], members: peers.slice(0, 3).map(p => ({ peerId: p.id })) })
  // adds and removes of the same peers at the same rounds by two admins, so order matters inside a round
  const changes: MembershipChange[] = []
  for (const [i, p] of peers.entries()) {
    for (const round of [1, 2]) {
      changes.push(await changeMembership(m, { op: 'add', peerId: p.id, effectiveRound: round, capacity: 1 + i }, alice.key))
      changes.push(await changeMembership(m, { op: 'remove', peerId: p.id, effectiveRound: round }, admin2.key))
    }
  }
  const reference = [0, 1, 2, 3].map(r => membersAt(m, changes, r))
  fc.assert(fc.property(fc.shuffledSubarray(changes, { minLength: changes.length, maxLength: changes.length }), fc.boolean(), (order, dup) => {
    const arrived = dup ? [...order, ...order.slice(0, 3)] : order
    for (let r = 0; r < 4; r++) assert.deepEqual(membersAt(m, arrived, r), reference[r])
  }), { numRuns: 200 })
})
