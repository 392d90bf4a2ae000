// Tests of admissions and one-time invitations: who may sign, expiry, first round, token reuse, each refused with its code.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  admit, createInvitation, redeemInvitation, tokenHash, verifyAdmission, verifyInvitation, ManifestError, ManifestErrorCode
} from '../../src/manifest/index.js'
import { peer, manifestOf, NOW, LATER, EARLIER } from './fixtures.js'

const code = (c: ManifestErrorCode) => (err: unknown) => err instanceof ManifestError && err.code === c
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v))

async function setup () {
  const [alice, admin2, member, partner, outsider] = await Promise.all([peer(1), peer(2), peer(3), peer(4), peer(5)])
  const manifest = await manifestOf(alice, { admins: [admin2.id], members: [{ peerId: member.id }] })
  return { alice, admin2, member, partner, outsider, manifest }
}

test('an admin admits a peer; the admission verifies after a JSON round trip', async () => {
  const { alice, admin2, partner, manifest } = await setup()
  for (const admin of [alice, admin2]) {
    const a = await admit(manifest, partner.id, admin.key, { validFromRound: 3, expires: LATER })
    assert.equal(a.signer, admin.id)
    assert.deepEqual(await verifyAdmission(manifest, JSON.parse(JSON.stringify(a)), { now: NOW, round: 3, peerId: partner.id }), a)
  }
  // no options: valid from any round, never expires
  const open = await admit(manifest, partner.id, alice.key)
  await verifyAdmission(manifest, open, { now: Date.parse('2099-01-01T00:00:00.000Z'), round: 0 })
})

test('a non-admin cannot admit, and an admission it signs anyway is refused', async () => {
  const { alice, member, outsider, partner, manifest } = await setup()
  await assert.rejects(admit(manifest, partner.id, member.key), code(ManifestErrorCode.NotAdmin))
  // forge: a real admission re-signed by a member, made to look like it came from the member
  const real = clone(await admit(manifest, partner.id, alice.key))
  const { signValue } = await import('../../src/manifest/sign.js')
  for (const signer of [member, outsider]) {
    const { signature: _, ...unsigned } = { ...real, signer: signer.id }
    const forged = { ...unsigned, signature: await signValue('admission', unsigned, signer.key) }
    await assert.rejects(verifyAdmission(manifest, forged, { now: NOW }), code(ManifestErrorCode.NotAdmin))
  }
})

test('tampered, misdirected and other-run admissions are refused with their codes', async () => {
  const { alice, partner, outsider, manifest } = await setup()
  const a = await admit(manifest, partner.id, alice.key, { validFromRound: 2 })
  await assert.rejects(verifyAdmission(manifest, { ...a, validFromRound: 0 }, { now: NOW }), code(ManifestErrorCode.BadSignature))
  await assert.rejects(verifyAdmission(manifest, { ...a, peerId: outsider.id }, { now: NOW }), code(ManifestErrorCode.BadSignature))
  await assert.rejects(verifyAdmission(manifest, a, { now: NOW, peerId: outsider.id }), code(ManifestErrorCode.WrongPeer))
  const other = await manifestOf(alice, { name: 'another run' })
  await assert.rejects(verifyAdmission(other, a, { now: NOW }), code(ManifestErrorCode.WrongRun))
  await assert.rejects(verifyAdmission(manifest, { ...a, extra: 1 }, { now: NOW }), code(ManifestErrorCode.Schema))
})

test('an expired admission is refused; one used before its first round too', async () => {
  const { alice, partner, manifest } = await setup()
  const a = await admit(manifest, partner.id, alice.key, { expires: EARLIER, validFromRound: 5 })
  await assert.rejects(verifyAdmission(manifest, a, { now: NOW }), code(ManifestErrorCode.Expired))
  // the expiry instant itself is already too late
  await assert.rejects(verifyAdmission(manifest, a, { now: Date.parse(EARLIER) }), code(ManifestErrorCode.Expired))
  const early = Date.parse(EARLIER) - 1
  await verifyAdmission(manifest, a, { now: early, round: 5 })
  await assert.rejects(verifyAdmission(manifest, a, { now: early, round: 4 }), code(ManifestErrorCode.NotYetValid))
})

test('an invitation is redeemed once, by an admin or a member, into an admission anyone can check', async () => {
  const { alice, member, partner, outsider, manifest } = await setup()
  const { invitation, token } = await createInvitation(manifest, alice.key, { expires: LATER })
  assert.equal(invitation.tokenHash, tokenHash(token))
  assert.ok(!JSON.stringify(invitation).includes(token), 'the invitation does not carry the secret')
  await verifyInvitation(manifest, invitation, { now: NOW })
  const spent = new Set<string>()
  const a = await redeemInvitation(manifest, invitation, token, partner.id, member.key, spent, { now: NOW })
  assert.equal(a.signer, member.id)
  assert.equal(a.expires, LATER)
  assert.deepEqual(await verifyAdmission(manifest, clone(a), { now: NOW, peerId: partner.id }), a)
  // the same token again, for anyone, by anyone who shares the spent set: refused
  assert.deepEqual([...spent], [invitation.tokenHash])
  await assert.rejects(redeemInvitation(manifest, invitation, token, partner.id, member.key, spent, { now: NOW }), code(ManifestErrorCode.TokenSpent))
  await assert.rejects(redeemInvitation(manifest, invitation, token, outsider.id, alice.key, spent, { now: NOW }), code(ManifestErrorCode.TokenSpent))
})

test('invitation refusals: wrong token, expired, non-admin inviter, outsider redeemer, tampered admission', async () => {
  const { alice, member, partner, outsider, manifest } = await setup()
  const { invitation, token } = await createInvitation(manifest, alice.key, { expires: LATER })
  const spent = new Set<string>()
  const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
  await assert.rejects(redeemInvitation(manifest, invitation, wrong, partner.id, alice.key, spent, { now: NOW }), code(ManifestErrorCode.BadToken))
  await assert.rejects(redeemInvitation(manifest, invitation, token, partner.id, alice.key, spent, { now: Date.parse(LATER) }), code(ManifestErrorCode.Expired))
  await assert.rejects(redeemInvitation(manifest, invitation, token, partner.id, outsider.key, spent, { now: NOW }), code(ManifestErrorCode.NotAdmin))
  await assert.rejects(redeemInvitation(manifest, { ...invitation, expires: '2030-01-01T00:00:00.000Z' }, token, partner.id, alice.key, spent, { now: NOW }),
    code(ManifestErrorCode.BadSignature))
  await assert.rejects(createInvitation(manifest, member.key, { expires: LATER }), code(ManifestErrorCode.NotAdmin))
  assert.equal(spent.size, 0, 'refused redemptions spend nothing')

  const a = await redeemInvitation(manifest, invitation, token, partner.id, member.key, spent, { now: NOW })
  await assert.rejects(verifyAdmission(manifest, a, { now: Date.parse(LATER) }), code(ManifestErrorCode.Expired))
  // a member-signed admission needs its invitation: without it the signer is not an admin
  const { signValue } = await import('../../src/manifest/sign.js')
  const { signature: _s, invitation: _i, token: _t, ...bare } = a
  await assert.rejects(verifyAdmission(manifest, { ...bare, signature: await signValue('admission', bare, member.key) }, { now: NOW }), code(ManifestErrorCode.NotAdmin))
  // a member-signed admission that outlives its invitation is refused
  const { signature: _s2, ...long } = { ...a, expires: '2030-01-01T00:00:00.000Z' }
  await assert.rejects(verifyAdmission(manifest, { ...long, signature: await signValue('admission', long, member.key) }, { now: NOW }), code(ManifestErrorCode.Schema))
  // and a member who is not a member of the set the verifier passes is refused
  await assert.rejects(verifyAdmission(manifest, a, { now: NOW, members: [alice.id] }), code(ManifestErrorCode.NotAdmin))
})

test('concurrent redemptions of one token spend it once', async () => {
  const { alice, partner, manifest } = await setup()
  const { invitation, token } = await createInvitation(manifest, alice.key, { expires: LATER })
  const spent = new Set<string>()
  const results = await Promise.allSettled([1, 2, 3].map(async () => await redeemInvitation(manifest, invitation, token, partner.id, alice.key, spent, { now: NOW })))
  assert.equal(results.filter(r => r.status === 'fulfilled').length, 1)
  assert.ok(results.every(r => r.status === 'fulfilled' || code(ManifestErrorCode.TokenSpent)(r.reason)))
})
