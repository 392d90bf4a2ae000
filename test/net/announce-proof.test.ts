// Announce proofs (src/net/announce-proof.ts, protocols/gossip.md §3): the signature of a real
// announce envelope, carried in a commit, checks against the commit alone, and nothing else does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeCommit, encodeAnnounce, encodeCommit } from '../../src/net/gossip-codec.js'
import { proofFromEnvelope, proofHolds, signProof } from '../../src/net/announce-proof.js'
import { CID_A, CID_B, RUN, sampleAnnounce, sampleCommit } from './helpers.js'
import type { Announce, IncludedUpdate } from '../../src/round/messages.js'

const CODEC = sampleAnnounce('x').codec

function entry (a: Announce): IncludedUpdate {
  return { updateId: a.updateId, peerId: a.peerId, samples: a.samples, capacity: a.capacity, size: a.size }
}

test('a received announce\'s signature, carried in a commit, holds against the commit alone; a changed field does not', async () => {
  const key = await generateKeyPair('Ed25519')
  const author = peerIdFromPrivateKey(key).toString()
  const a = sampleAnnounce(author)
  const envelope = await encodeAnnounce(a, key, author)
  const u: IncludedUpdate = { ...entry(a), announced: proofFromEnvelope(envelope, a) }
  const at = { runId: RUN, round: a.round, baseModelId: a.baseModelId }
  assert.equal(proofHolds(at, u, CODEC), true)
  assert.ok(Buffer.from((await signProof(key, a)).signature).equals(u.announced!.signature), 'this node\'s own proof is its envelope\'s signature')

  // through a signed commit and back, the proof still holds
  const aggKey = await generateKeyPair('Ed25519')
  const agg = peerIdFromPrivateKey(aggKey).toString()
  const c = { ...sampleCommit(agg, a.round), prevModelId: a.baseModelId, included: [u] }
  const decoded = (await decodeCommit(await encodeCommit(c, aggKey, agg))).message
  assert.equal(proofHolds({ runId: decoded.runId, round: decoded.round, baseModelId: decoded.prevModelId }, decoded.included[0], CODEC), true)

  // what a forger would change: the model it built on, the round, the weight, the codec, the author
  assert.equal(proofHolds({ ...at, baseModelId: CID_B }, u, CODEC), false, 'another base model')
  assert.equal(proofHolds({ ...at, round: a.round + 1 }, u, CODEC), false, 'another round')
  assert.equal(proofHolds(at, { ...u, samples: u.samples + 1 }, CODEC), false, 'other samples')
  assert.equal(proofHolds(at, { ...u, updateId: CID_A }, CODEC), false, 'another update')
  assert.equal(proofHolds(at, u, 'fp32'), false, 'another codec')
  assert.equal(proofHolds(at, { ...u, announced: { ...u.announced!, attempt: 1 } }, CODEC), false, 'another attempt')
  const other = await generateKeyPair('Ed25519')
  assert.equal(proofHolds(at, { ...u, peerId: peerIdFromPrivateKey(other).toString() }, CODEC), false, 'another author')
  assert.equal(proofHolds(at, { ...u, announced: await signProof(other, a) }, CODEC), false, 'signed by another key')
  assert.equal(proofHolds(at, entry(a), CODEC), false, 'no proof')
})

test('a republished announce proves the same update with its attempt', async () => {
  const key = await generateKeyPair('Ed25519')
  const author = peerIdFromPrivateKey(key).toString()
  const a: Announce = { ...sampleAnnounce(author), attempt: 2 }
  const u: IncludedUpdate = { ...entry(a), announced: proofFromEnvelope(await encodeAnnounce(a, key, author), a) }
  assert.equal(u.announced!.attempt, 2)
  assert.equal(proofHolds({ runId: RUN, round: a.round, baseModelId: a.baseModelId }, u, CODEC), true)
})
