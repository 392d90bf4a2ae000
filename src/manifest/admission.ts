// Admissions: an admin's signed word that a peer may join a run, directly or by redeeming a one-time invitation.
import { ManifestError, ManifestErrorCode } from './errors.js'
import { checkInvitationSigned, checkToken, requireAdmin, requireRun, toIso, toMillis, verifyInvitation } from './invitation.js'
import { AdmissionSchema, parseWith, withoutUndefined, type Admission, type Invitation, type SignedManifest } from './schema.js'
import { signValue, signerOf, verifyValue } from './sign.js'
import type { PrivateKey } from '@libp2p/interface'

export interface AdmitOptions {
  /** first round the peer may take part in; absent: any */
  validFromRound?: number
  /** after this instant the admission no longer lets the peer join; absent: never */
  expires?: Date | string
}

async function sign (manifest: SignedManifest, peerId: string, key: PrivateKey, options: AdmitOptions, invitation?: { invitation: Invitation, token: string }): Promise<Admission> {
  const signer = signerOf(key)
  const unsigned = withoutUndefined({
    runId: manifest.runId,
    peerId,
    validFromRound: options.validFromRound,
    expires: options.expires === undefined ? undefined : toIso(options.expires, 'expires'),
    invitation: invitation?.invitation,
    token: invitation?.token,
    signer
  })
  return parseWith(AdmissionSchema, { ...unsigned, signature: await signValue('admission', unsigned, key) }, 'admission')
}

/** An admission of `peerId` signed by `adminKey`, which must be an admin of the manifest (ERR_MANIFEST_NOT_ADMIN). */
export async function admit (manifest: SignedManifest, peerId: string, adminKey: PrivateKey, options: AdmitOptions = {}): Promise<Admission> {
  requireAdmin(manifest, signerOf(adminKey), 'admission')
  return await sign(manifest, peerId, adminKey, options)
}

export interface RedeemOptions {
  now: Date | number
  /** no later than the invitation's expiry @default the invitation's expiry */
  expires?: Date | string
  validFromRound?: number
  /** peers that count as members (e.g. membersAt of the current round) @default the founding members */
  members?: Iterable<string>
}

function isMember (manifest: SignedManifest, peerId: string, members?: Iterable<string>): boolean {
  if (members === undefined) return manifest.body.members.some(m => m.peerId === peerId)
  for (const m of members) if (m === peerId) return true
  return false
}

/**
 * Turn a presented invitation token into an admission of `peerId`, signed by `signerKey` (an admin,
 * or any member: the admission carries the invitation and the token, so the admin's word travels
 * with it). `spent` holds the token hashes already redeemed here; the token's hash is added to it,
 * so a second redemption throws ERR_MANIFEST_TOKEN_SPENT. Also throws what verifyInvitation throws,
 * ERR_MANIFEST_BAD_TOKEN and ERR_MANIFEST_NOT_ADMIN (signer neither admin nor member).
 */
export async function redeemInvitation (manifest: SignedManifest, invitation: unknown, token: string, peerId: string, signerKey: PrivateKey,
  spent: Set<string>, options: RedeemOptions): Promise<Admission> {
  const inv = await verifyInvitation(manifest, invitation, options)
  checkToken(inv, token)
  const signer = signerOf(signerKey)
  if (!manifest.body.admins.includes(signer) && !isMember(manifest, signer, options.members)) {
    throw new ManifestError(ManifestErrorCode.NotAdmin, `${signer} is neither an admin nor a member of run ${manifest.runId}`, 'signer')
  }
  if (spent.has(inv.tokenHash)) throw new ManifestError(ManifestErrorCode.TokenSpent, 'invitation token already redeemed', 'token')
  // marked before the await, so two concurrent redemptions of one token cannot both pass
  const expires = options.expires === undefined ? inv.expires : toIso(options.expires, 'expires')
  if (Date.parse(expires) > Date.parse(inv.expires)) {
    throw new ManifestError(ManifestErrorCode.Schema, `admission: expires: ${expires} is later than the invitation's ${inv.expires}`, 'expires')
  }
  spent.add(inv.tokenHash)
  try {
    return await sign(manifest, peerId, signerKey, { validFromRound: options.validFromRound, expires }, { invitation: inv, token })
  } catch (err) {
    spent.delete(inv.tokenHash)
    throw err
  }
}

export interface VerifyAdmissionOptions {
  /** the verifier's clock, for `expires` */
  now: Date | number
  /** the round the peer wants to take part in, checked against validFromRound */
  round?: number
  /** the peer presenting the admission (e.g. the remote peer of a connection), checked against peerId */
  peerId?: string
  /** peers that may sign an admission that redeems an invitation @default the founding members */
  members?: Iterable<string>
}

/**
 * Check an admission, in this order: schema (ERR_MANIFEST_SCHEMA), run (_WRONG_RUN), presenting
 * peer (_WRONG_PEER), signature (_SIGNATURE), signer's authority (_NOT_ADMIN: an admin, or a member
 * carrying a valid invitation), the invitation and token if any (as verifyInvitation, _BAD_TOKEN),
 * expiry (_EXPIRED), first round (_NOT_YET_VALID).
 */
export async function verifyAdmission (manifest: SignedManifest, value: unknown, options: VerifyAdmissionOptions): Promise<Admission> {
  const a = parseWith(AdmissionSchema, value, 'admission')
  requireRun(manifest, a.runId, 'admission')
  if (options.peerId !== undefined && options.peerId !== a.peerId) {
    throw new ManifestError(ManifestErrorCode.WrongPeer, `admission is for ${a.peerId}, presented by ${options.peerId}`, 'peerId')
  }
  const { signature, ...unsigned } = a
  if (!await verifyValue('admission', unsigned, a.signer, signature)) {
    throw new ManifestError(ManifestErrorCode.BadSignature, `admission: signature does not verify against ${a.signer}`, 'signature')
  }
  if (a.invitation === undefined) {
    requireAdmin(manifest, a.signer, 'admission')
  } else {
    if (!manifest.body.admins.includes(a.signer) && !isMember(manifest, a.signer, options.members)) {
      throw new ManifestError(ManifestErrorCode.NotAdmin, `admission signed by ${a.signer}, who is neither an admin nor a member of run ${manifest.runId}`, 'signer')
    }
    // an invitation-backed admission lives no longer than its invitation: its own expiry is checked below
    const inv = await checkInvitationSigned(manifest, a.invitation)
    checkToken(inv, a.token as string)
    if (a.expires === undefined || Date.parse(a.expires) > Date.parse(inv.expires)) {
      throw new ManifestError(ManifestErrorCode.Schema, `admission: expires: must be set and no later than its invitation's ${inv.expires}`, 'expires')
    }
  }
  if (a.expires !== undefined && toMillis(options.now) >= Date.parse(a.expires)) {
    throw new ManifestError(ManifestErrorCode.Expired, `admission expired at ${a.expires}`, 'expires')
  }
  if (options.round !== undefined && a.validFromRound !== undefined && options.round < a.validFromRound) {
    throw new ManifestError(ManifestErrorCode.NotYetValid, `admission is valid from round ${a.validFromRound}, not ${options.round}`, 'validFromRound')
  }
  return a
}
