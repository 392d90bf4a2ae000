// Signing and checking: domain-separated Ed25519 signatures over canonical bytes, and the signed run manifest.
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { fromString, toString } from 'uint8arrays'
import { parseRunSettings, type RunSettingsInput } from '../round/settings.js'
import { canonicalBytes, runIdOf } from './canonical.js'
import { ManifestError, ManifestErrorCode } from './errors.js'
import { MANIFEST_VERSION, SignedManifestSchema, parseManifestBody, parseWith, withoutUndefined, type ManifestBody, type Member, type SignedManifest } from './schema.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Each kind of signed document has its own domain string, prefixed to the canonical bytes before
 * signing: a signature made for one kind (or for libp2p's own records) is never valid for another.
 * No domain string is a prefix of another, and canonical bytes always start with "{".
 */
export const SIGNING_DOMAINS = {
  manifest: 'tapestry-manifest-v1',
  invitation: 'tapestry-invitation-v1',
  admission: 'tapestry-admission-v1',
  membership: 'tapestry-membership-v1',
  evidence: 'tapestry-evidence-v1'
} as const
export type SignedKind = keyof typeof SIGNING_DOMAINS

/** Upper bound on a manifest given as JSON text (10,000 members ≈ 800 KB). */
export const MAX_MANIFEST_CHARS = 2 * 1024 * 1024

const encoder = new TextEncoder()

/** The exact bytes signed for a document of `kind`: UTF-8 domain string ‖ canonical bytes of `value`. */
export function signedMessage (kind: SignedKind, value: unknown): Uint8Array {
  const domain = encoder.encode(SIGNING_DOMAINS[kind])
  const body = canonicalBytes(value)
  const out = new Uint8Array(domain.byteLength + body.byteLength)
  out.set(domain, 0)
  out.set(body, domain.byteLength)
  return out
}

/** The peer id of a signing key; only Ed25519 keys sign here (their peer id carries the public key). */
export function signerOf (key: PrivateKey): string {
  if (key.type !== 'Ed25519') throw new ManifestError(ManifestErrorCode.BadKey, `a ${key.type} key cannot sign run documents; Ed25519 only`)
  return peerIdFromPrivateKey(key).toString()
}

/** Sign `value` as a document of `kind`: base64url (no padding) of the Ed25519 signature. */
export async function signValue (kind: SignedKind, value: unknown, key: PrivateKey): Promise<string> {
  signerOf(key)
  return toString(await key.sign(signedMessage(kind, value)), 'base64url')
}

/** Whether `signature` is `signer`'s signature of `value` as a document of `kind`; never throws for a bad signature. */
export async function verifyValue (kind: SignedKind, value: unknown, signer: string, signature: string): Promise<boolean> {
  const publicKey = peerIdFromString(signer).publicKey
  if (publicKey === undefined || publicKey.type !== 'Ed25519') return false
  try {
    return await publicKey.verify(signedMessage(kind, value), fromString(signature, 'base64url'))
  } catch {
    return false
  }
}

/** What a creator writes; the rest (version, creator, defaults, order) is filled in by `createManifest`. */
export interface ManifestInput {
  /** human name of the run */
  name: string
  /** run settings; unset ones take their defaults, which the manifest then writes out */
  settings?: RunSettingsInput
  /** founding members, in any order; may be empty when members are admitted later */
  members?: ReadonlyArray<{ peerId: string, capacity?: number, samples?: number }>
  /** who may admit members, in any order; the creator is added if missing */
  admins?: readonly string[]
  /**
   * members needed before round 0
   * @default max(1, members.length)
   */
  minMembers?: number
  /** creation time (passed in: no global clock) */
  createdAt: Date | string
}

/**
 * Build, check and sign a run manifest. Settings are parsed with every default filled in,
 * members and admins sorted; throws ERR_RUN_SETTINGS for a bad setting, ERR_MANIFEST_SCHEMA for
 * anything else the manifest schema refuses, ERR_MANIFEST_KEY for a key that is not Ed25519.
 */
export async function createManifest (input: ManifestInput, creatorKey: PrivateKey): Promise<SignedManifest> {
  const creator = signerOf(creatorKey)
  const members: Member[] = (input.members ?? []).map(m => withoutUndefined({ peerId: m.peerId, capacity: m.capacity ?? 1, samples: m.samples }))
    .sort((a, b) => a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
  const createdAt = typeof input.createdAt === 'string' ? input.createdAt : isoOf(input.createdAt)
  const draft = {
    version: MANIFEST_VERSION,
    name: input.name,
    settings: parseRunSettings(input.settings ?? {}),
    members,
    admins: [...new Set([creator, ...(input.admins ?? [])])].sort(),
    minMembers: input.minMembers ?? Math.max(1, members.length),
    createdAt,
    creator
  }
  const body = parseManifestBody(draft)
  return { body, runId: runIdOf(body), signature: await signValue('manifest', body, creatorKey) }
}

function isoOf (d: Date): string {
  if (Number.isNaN(d.getTime())) throw new ManifestError(ManifestErrorCode.Schema, 'manifest: createdAt: invalid date', 'createdAt')
  return d.toISOString()
}

/**
 * Check a signed manifest received from anywhere (JSON text or its parsed value), in this order:
 * the schema (ERR_MANIFEST_SCHEMA, or ERR_RUN_SETTINGS-style messages under it for settings), the
 * run id recomputed from the body (ERR_MANIFEST_RUN_ID), the creator's signature
 * (ERR_MANIFEST_SIGNATURE). Returns the manifest with its body parsed.
 */
export async function verifyManifest (json: unknown): Promise<SignedManifest> {
  let value = json
  if (typeof json === 'string') {
    if (json.length > MAX_MANIFEST_CHARS) throw new ManifestError(ManifestErrorCode.Schema, `manifest: ${json.length} characters exceeds ${MAX_MANIFEST_CHARS}`)
    try {
      value = JSON.parse(json)
    } catch (err) {
      throw new ManifestError(ManifestErrorCode.Schema, 'manifest: not JSON', undefined, { cause: err })
    }
  }
  const outer = parseWith(SignedManifestSchema, value, 'signed manifest')
  const body: ManifestBody = parseManifestBody(outer.body)
  const runId = runIdOf(body)
  if (runId !== outer.runId) {
    throw new ManifestError(ManifestErrorCode.RunIdMismatch, `manifest: run id ${outer.runId} does not match its body (${runId})`, 'runId')
  }
  if (!await verifyValue('manifest', body, body.creator, outer.signature)) {
    throw new ManifestError(ManifestErrorCode.BadSignature, `manifest ${runId}: signature does not verify against creator ${body.creator}`, 'signature')
  }
  return { body, runId, signature: outer.signature }
}
