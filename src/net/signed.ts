// The signed envelope around every gossiped message: sign with the node's libp2p key, open and
// verify anywhere later (forwarded gossip, commit chains served to late joiners).
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { equals } from 'uint8arrays/equals'
import { NetErrorCode, WireError, decodeError } from './errors.js'
import { Signed } from './wire/signed.js'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

export type SignedKind = 'presence' | 'announce' | 'commit' | 'subAggregate'

const KIND_TO_WIRE: Record<SignedKind, Signed.Kind> = {
  presence: Signed.Kind.PRESENCE,
  announce: Signed.Kind.ANNOUNCE,
  commit: Signed.Kind.COMMIT,
  subAggregate: Signed.Kind.SUB_AGGREGATE
}
/** One byte per kind inside the signed bytes; the values are the proto enum numbers. */
const KIND_BYTE: Record<SignedKind, number> = { presence: 1, announce: 2, commit: 3, subAggregate: 4 }

/**
 * Signed bytes are DOMAIN ‖ kind ‖ payload: the prefix keeps these signatures from being valid
 * for anything else the same key signs (libp2p records, gossipsub), the kind byte keeps an
 * announce from being replayed as a commit.
 */
const DOMAIN = new TextEncoder().encode('tapestry/signed/v1\n')

/** Upper bound on an encoded public key (RSA-4096 protobuf ≈ 550 bytes). */
const MAX_PUBLIC_KEY_BYTES = 1024
const MAX_SIGNATURE_BYTES = 1024

export interface OpenedEnvelope {
  kind: SignedKind
  payload: Uint8Array
  publicKey: PublicKey
  signature: Uint8Array
  /** peer id (string form) derived from the public key */
  signer: string
}

/** What a signature of a `kind` message covers: DOMAIN ‖ kind ‖ payload. */
export function signedBytes (kind: SignedKind, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(DOMAIN.byteLength + 1 + payload.byteLength)
  out.set(DOMAIN, 0)
  out[DOMAIN.byteLength] = KIND_BYTE[kind]
  out.set(payload, DOMAIN.byteLength + 1)
  return out
}

/** Sign `payload` as a message of `kind` and return the encoded envelope. */
export async function seal (key: PrivateKey, kind: SignedKind, payload: Uint8Array): Promise<Uint8Array> {
  const signature = await key.sign(signedBytes(kind, payload))
  return Signed.encode({
    kind: KIND_TO_WIRE[kind],
    payload: payload as Uint8Array<ArrayBuffer>,
    publicKey: publicKeyToProtobuf(key.publicKey) as Uint8Array<ArrayBuffer>,
    signature: signature as Uint8Array<ArrayBuffer>
  })
}

/**
 * Decode an envelope and check it holds `kind`, WITHOUT verifying the signature: callers run their
 * cheap checks on the payload first and call `verifyEnvelope` last, so garbage costs no crypto.
 * Throws WireError with ERR_NET_OVERSIZED, ERR_NET_MALFORMED, ERR_NET_NON_CANONICAL or ERR_NET_WRONG_KIND.
 */
export function openEnvelope (bytes: Uint8Array, kind: SignedKind, maxBytes: number): OpenedEnvelope {
  if (bytes.byteLength > maxBytes) {
    throw new WireError(NetErrorCode.OVERSIZED, `${kind} envelope of ${bytes.byteLength} bytes exceeds ${maxBytes}`, { length: bytes.byteLength, cap: maxBytes })
  }
  let env: Signed
  try {
    env = Signed.decode(bytes)
  } catch (err) {
    throw decodeError(`${kind} envelope`, err)
  }
  // the signature covers the payload only: without this, an unknown field or a padded varint in
  // the envelope would give one signed message many byte forms (and gossip message ids)
  if (!equals(Signed.encode(env), bytes)) {
    throw new WireError(NetErrorCode.NON_CANONICAL, `${kind} envelope is not canonically encoded`, { kind })
  }
  if (env.kind !== KIND_TO_WIRE[kind]) {
    throw new WireError(NetErrorCode.WRONG_KIND, `expected a ${kind} envelope, got ${String(env.kind)}`, { expected: kind, got: String(env.kind) })
  }
  if (env.publicKey.byteLength === 0 || env.publicKey.byteLength > MAX_PUBLIC_KEY_BYTES) {
    throw new WireError(NetErrorCode.MALFORMED, `public key of ${env.publicKey.byteLength} bytes`)
  }
  let publicKey: PublicKey
  try {
    publicKey = publicKeyFromProtobuf(env.publicKey)
  } catch (err) {
    throw new WireError(NetErrorCode.MALFORMED, 'undecodable public key', {}, { cause: err })
  }
  return { kind, payload: env.payload, publicKey, signature: env.signature, signer: peerIdFromPublicKey(publicKey).toString() }
}

/** Verify the envelope's signature over its payload; throws ERR_NET_BAD_SIGNATURE. */
export async function verifyEnvelope (env: OpenedEnvelope): Promise<void> {
  if (env.signature.byteLength === 0 || env.signature.byteLength > MAX_SIGNATURE_BYTES) {
    throw new WireError(NetErrorCode.BAD_SIGNATURE, `signature of ${env.signature.byteLength} bytes`)
  }
  let ok = false
  try {
    ok = await env.publicKey.verify(signedBytes(env.kind, env.payload), env.signature)
  } catch {
    ok = false
  }
  if (!ok) throw new WireError(NetErrorCode.BAD_SIGNATURE, `${env.kind} signature does not verify`)
}
