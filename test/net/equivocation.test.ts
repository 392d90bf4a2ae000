// Equivocation proofs inside a commit: the decoder verifies both enclosed commits and derives the
// accused from their signatures; a proof that does not prove is a malformed commit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeCommit, encodeCommit } from '../../src/net/index.js'
import { NetErrorCode } from '../../src/net/errors.js'
import { CID_A, CID_B, sampleCommit } from './helpers.js'
import type { Commit } from '../../src/round/index.js'

const proofOf = (first: Uint8Array, second: Uint8Array): NonNullable<Commit['equivocations']>[number] => ({ first, second, accused: '', round: -1 })

test('a commit carrying an equivocation proof: accused and round come from the verified envelopes; a proof that proves nothing is refused', async () => {
  const [liarKey, otherKey, carrierKey] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
  const liar = peerIdFromPrivateKey(liarKey).toString()
  const other = peerIdFromPrivateKey(otherKey).toString()
  const carrier = peerIdFromPrivateKey(carrierKey).toString()
  const one = await encodeCommit(sampleCommit(liar, 5), liarKey, liar)
  const two = await encodeCommit({ ...sampleCommit(liar, 5), newModelId: CID_A }, liarKey, liar)
  const carry = async (p: ReturnType<typeof proofOf>): Promise<Uint8Array> => await encodeCommit({ ...sampleCommit(carrier, 6), equivocations: [p] }, carrierKey, carrier)

  const ok = await decodeCommit(await carry(proofOf(one, two)))
  assert.deepEqual(ok.message.equivocations?.map(p => [p.accused, p.round]), [[liar, 5]])

  const refused = async (p: ReturnType<typeof proofOf>, what: string): Promise<void> => {
    await assert.rejects(decodeCommit(await carry(p)), (e: { code?: string }) => e.code === NetErrorCode.MALFORMED, what)
  }
  await refused(proofOf(one, one), 'one commit twice')
  await refused(proofOf(one, await encodeCommit({ ...sampleCommit(other, 5), newModelId: CID_B }, otherKey, other)), 'two authors')
  await refused(proofOf(one, await encodeCommit({ ...sampleCommit(liar, 4) }, liarKey, liar)), 'two rounds')
  const forged = Uint8Array.from(two); forged[forged.length - 1] ^= 1
  await refused(proofOf(one, forged), 'a signature that fails')
  const nested = await encodeCommit({ ...sampleCommit(liar, 5), newModelId: CID_A, equivocations: [proofOf(one, two)] }, liarKey, liar)
  await refused(proofOf(one, nested), 'a proof inside a proof')
})
