// Announce proofs (protocols/gossip.md §3): an author's signature of its announce travels with its
// update in commits and group folds. The announce's signed bytes follow from the included entry,
// the run's codec and the including message's run, round and base model, so anyone holding the
// commit can check, long after the round, that the author announced that update on that model:
// what fork choice counts as having built a branch (sync.md §7).
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { encodePayload } from './gossip-codec.js'
import { signedBytes } from './signed.js'
import { Signed } from './wire/signed.js'
import type { Announce, AnnounceProof, IncludedUpdate } from '../round/messages.js'
import type { PrivateKey } from '@libp2p/interface'

/** Where an included update sits: the run, round and base model of the message that includes it. */
export interface ProofContext { runId: string, round: number, baseModelId: string }

/** The announce an included entry stands for (its `attempt` from the proof). */
function announceOf (at: ProofContext, u: IncludedUpdate, codec: string, attempt: number): Announce {
  const a: Announce = {
    runId: at.runId, round: at.round, peerId: u.peerId, updateId: u.updateId, baseModelId: at.baseModelId,
    samples: u.samples, codec, size: u.size ?? 0, capacity: u.capacity
  }
  if (attempt > 0) a.attempt = attempt
  return a
}

/** The proof a received announce envelope (already verified) carries: its signature and attempt. */
export function proofFromEnvelope (envelope: Uint8Array, announce: Announce): AnnounceProof {
  return { signature: Signed.decode(envelope).signature, attempt: announce.attempt ?? 0 }
}

/** This node's own proof of `announce` (Ed25519 signatures are deterministic: the one its envelope carries). */
export async function signProof (key: PrivateKey, announce: Announce): Promise<AnnounceProof> {
  const signature = await key.sign(signedBytes('announce', encodePayload('announce', announce)))
  return { signature, attempt: announce.attempt ?? 0 }
}

const keys = new Map<string, KeyObject | null>()
const MAX_KEYS = 4096

/** The Ed25519 key a peer id embeds, as a node:crypto key (cached); null for other peer ids. */
function keyOf (peerId: string): KeyObject | null {
  let k = keys.get(peerId)
  if (k !== undefined) return k
  try {
    const pub = peerIdFromString(peerId).publicKey
    k = pub?.type === 'Ed25519' ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub.raw).toString('base64url') }, format: 'jwk' }) : null
  } catch {
    k = null
  }
  if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string)
  keys.set(peerId, k)
  return k
}

/**
 * Whether `u.announced` is its author's signature of the announce `u` stands for at `at` with the
 * run's `codec`: synchronous (fork choice is pure), so it verifies with node:crypto.
 */
export function proofHolds (at: ProofContext, u: IncludedUpdate, codec: string): boolean {
  const p = u.announced
  if (p == null) return false
  const key = keyOf(u.peerId)
  if (key == null) return false
  try {
    return verify(null, signedBytes('announce', encodePayload('announce', announceOf(at, u, codec, p.attempt))), key, p.signature)
  } catch {
    return false
  }
}
