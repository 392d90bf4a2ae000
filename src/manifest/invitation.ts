// One-time invitations: an admin signs the hash of a random token; whoever presents the token once gets an admission.
import { toString } from 'uint8arrays'
import { sha256 } from './canonical.js'
import { ManifestError, ManifestErrorCode } from './errors.js'
import { InvitationSchema, TokenString, parseWith, type Invitation, type SignedManifest } from './schema.js'
import { signValue, signerOf, verifyValue } from './sign.js'
import type { PrivateKey } from '@libp2p/interface'

export const TOKEN_BYTES = 32

export interface InvitationOptions {
  /** after this instant the token can no longer be redeemed */
  expires: Date | string
  /**
   * Source of the token's bytes. Injectable for tests; the default is the platform CSPRNG because
   * a guessable token is a key to the run.
   * @default crypto.getRandomValues
   */
  randomBytes?: (n: number) => Uint8Array
}

export interface NewInvitation {
  /** the signed invitation: public, may travel with the token or be published */
  readonly invitation: Invitation
  /** the secret: 43 base64url characters, given to the invited partner only */
  readonly token: string
}

/** lowercase hex SHA-256 of the token's UTF-8 (ASCII) characters */
export function tokenHash (token: string): string {
  return toString(sha256(new TextEncoder().encode(token)), 'base16')
}

/** Time as milliseconds since the epoch, from a Date, an ISO string or a number. */
export function toMillis (t: Date | string | number): number {
  return typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : t.getTime()
}

export function toIso (t: Date | string, field: string): string {
  const ms = toMillis(t)
  if (Number.isNaN(ms)) throw new ManifestError(ManifestErrorCode.Schema, `${field}: invalid time`, field)
  return new Date(ms).toISOString()
}

/** Refuse `signer` unless the manifest lists it as an admin. */
export function requireAdmin (manifest: SignedManifest, signer: string, what: string): void {
  if (!manifest.body.admins.includes(signer)) {
    throw new ManifestError(ManifestErrorCode.NotAdmin, `${what} signed by ${signer}, who is not an admin of run ${manifest.runId}`, 'signer')
  }
}

export function requireRun (manifest: SignedManifest, runId: string, what: string): void {
  if (runId !== manifest.runId) throw new ManifestError(ManifestErrorCode.WrongRun, `${what} is for run ${runId}, not ${manifest.runId}`, 'runId')
}

/** Create an invitation signed by an admin of the manifest; throws ERR_MANIFEST_NOT_ADMIN otherwise. */
export async function createInvitation (manifest: SignedManifest, adminKey: PrivateKey, options: InvitationOptions): Promise<NewInvitation> {
  const signer = signerOf(adminKey)
  requireAdmin(manifest, signer, 'invitation')
  const random = options.randomBytes ?? ((n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n)))
  const bytes = random(TOKEN_BYTES)
  if (bytes.byteLength !== TOKEN_BYTES) throw new ManifestError(ManifestErrorCode.BadToken, `token source gave ${bytes.byteLength} bytes, not ${TOKEN_BYTES}`)
  const token = toString(bytes, 'base64url')
  const unsigned = { runId: manifest.runId, tokenHash: tokenHash(token), expires: toIso(options.expires, 'expires'), signer }
  const invitation = parseWith(InvitationSchema, { ...unsigned, signature: await signValue('invitation', unsigned, adminKey) }, 'invitation')
  return { invitation, token }
}

/**
 * Check an invitation: schema, run, admin signer, signature, not expired at `now`
 * (ERR_MANIFEST_SCHEMA, _WRONG_RUN, _NOT_ADMIN, _SIGNATURE, _EXPIRED).
 */
export async function verifyInvitation (manifest: SignedManifest, value: unknown, at: { now: Date | number }): Promise<Invitation> {
  const inv = await checkInvitationSigned(manifest, value)
  if (toMillis(at.now) >= Date.parse(inv.expires)) throw new ManifestError(ManifestErrorCode.Expired, `invitation expired at ${inv.expires}`, 'expires')
  return inv
}

/** verifyInvitation without the clock: for an invitation already redeemed, whose expiry bounds the admission's instead. */
export async function checkInvitationSigned (manifest: SignedManifest, value: unknown): Promise<Invitation> {
  const inv = parseWith(InvitationSchema, value, 'invitation')
  requireRun(manifest, inv.runId, 'invitation')
  requireAdmin(manifest, inv.signer, 'invitation')
  const { signature, ...unsigned } = inv
  if (!await verifyValue('invitation', unsigned, inv.signer, signature)) {
    throw new ManifestError(ManifestErrorCode.BadSignature, `invitation: signature does not verify against ${inv.signer}`, 'signature')
  }
  return inv
}

/** Refuse a token that is malformed or does not hash to the invitation's token hash (ERR_MANIFEST_BAD_TOKEN). */
export function checkToken (inv: Invitation, token: string): void {
  if (!TokenString.safeParse(token).success || tokenHash(token) !== inv.tokenHash) {
    throw new ManifestError(ManifestErrorCode.BadToken, 'token does not match the invitation', 'token')
  }
}
