// The shapes of a run manifest, an admission, an invitation and a membership change (zod), and their parsers.
import { peerIdFromString } from '@libp2p/peer-id'
import { z } from 'zod'
import { RunSettingsSchema, RUN_DEFAULTS, checkRunSettings, settingsIssue } from '../round/settings.js'
import { ManifestError, ManifestErrorCode } from './errors.js'

export const MANIFEST_VERSION = 1
/** Bounds that keep a manifest a small document every node can hold and hash. */
export const MAX_NAME_CHARS = 200
export const MAX_MEMBERS = 10_000
export const MAX_ADMINS = 100
export const MAX_PEER_ID_CHARS = 128

/**
 * True for the canonical string of an Ed25519 peer id ("12D3KooW…", base58btc of the identity
 * multihash). Only Ed25519 ids carry their public key, so only they can be checked offline; other
 * spellings of the same id (a CIDv1 "bafz…") are refused so that one peer has one byte string.
 */
export function isCanonicalPeerId (s: string): boolean {
  if (s.length === 0 || s.length > MAX_PEER_ID_CHARS) return false
  try {
    const id = peerIdFromString(s)
    return id.type === 'Ed25519' && id.toString() === s
  } catch {
    return false
  }
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
/** A time as `Date.prototype.toISOString` writes it (UTC, milliseconds, "Z"): one spelling per instant. */
export const IsoTime = z.string().refine(s => ISO_UTC.test(s) && !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s,
  { message: 'not a UTC time of the form 2025-01-31T12:00:00.000Z' })

export const PeerIdString = z.string().refine(isCanonicalPeerId, { message: 'not a canonical Ed25519 peer id (12D3KooW…)' })
/** base64url without padding of a 64-byte Ed25519 signature */
export const SignatureString = z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'not a base64url Ed25519 signature (86 characters)')
export const RunIdString = z.string().regex(/^b[a-z2-7]{1,100}$/, 'not a base32 CIDv1 run id')
/** 64 lowercase hex digits of a SHA-256 */
export const TokenHashString = z.string().regex(/^[0-9a-f]{64}$/, 'not 64 lowercase hex digits')
/** base64url without padding of 32 random bytes */
export const TokenString = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a 43-character base64url token')
const Capacity = z.number().positive().max(1e6)
/** a member's fold weight: the examples it declares it trains on (absent: 1, equal weights) */
const Samples = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
const Round = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/** Sorted by UTF-16 code units and free of repeats: one spelling per set, so equal sets hash equal. */
function sortedUnique (ids: readonly string[], ctx: z.RefinementCtx, path: Array<string | number>): void {
  for (let i = 1; i < ids.length; i++) {
    if (ids[i - 1] >= ids[i]) {
      ctx.addIssue({ code: 'custom', path: [...path, i], message: ids[i - 1] === ids[i] ? `${ids[i]} listed twice` : 'not sorted by peer id' })
      return
    }
  }
}

export const MemberSchema = z.strictObject({
  peerId: PeerIdString,
  /** election weight (see election/Member); written out, never defaulted */
  capacity: Capacity,
  /** fold weight of the member's updates; absent: 1 (every member weighs the same) */
  samples: Samples.optional()
})

/** The unsigned manifest body: the bytes hashed to the run id and signed by the creator. */
export const ManifestBodySchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  name: z.string().min(1).max(MAX_NAME_CHARS),
  settings: RunSettingsSchema.strict().superRefine(checkRunSettings),
  members: z.array(MemberSchema).max(MAX_MEMBERS),
  admins: z.array(PeerIdString).min(1).max(MAX_ADMINS),
  minMembers: z.number().int().min(1).max(MAX_MEMBERS),
  createdAt: IsoTime,
  creator: PeerIdString
}).superRefine((b, ctx) => {
  sortedUnique(b.members.map(m => m.peerId), ctx, ['members'])
  sortedUnique(b.admins, ctx, ['admins'])
  if (!b.admins.includes(b.creator)) ctx.addIssue({ code: 'custom', path: ['admins'], message: 'must include the creator' })
})

export const SignedManifestSchema = z.strictObject({
  body: z.unknown(),
  runId: RunIdString,
  signature: SignatureString
})

export const InvitationSchema = z.strictObject({
  runId: RunIdString,
  tokenHash: TokenHashString,
  expires: IsoTime,
  signer: PeerIdString,
  signature: SignatureString
})

export const AdmissionSchema = z.strictObject({
  runId: RunIdString,
  peerId: PeerIdString,
  /** first round the admitted peer may take part in; absent: any */
  validFromRound: Round.optional(),
  /** the admission can no longer be used to join after this time; absent: never expires */
  expires: IsoTime.optional(),
  /** the invitation this admission redeems (required when the signer is a member, not an admin) */
  invitation: InvitationSchema.optional(),
  /** the redeemed token, so anyone can check it against the invitation's token hash */
  token: TokenString.optional(),
  signer: PeerIdString,
  signature: SignatureString
}).superRefine((a, ctx) => {
  if ((a.invitation === undefined) !== (a.token === undefined)) ctx.addIssue({ code: 'custom', path: ['token'], message: 'invitation and token come together' })
})

export const MembershipChangeSchema = z.strictObject({
  runId: RunIdString,
  op: z.enum(['add', 'remove']),
  peerId: PeerIdString,
  effectiveRound: Round,
  /** election weight of an added member (absent: 1); never on a remove */
  capacity: Capacity.optional(),
  /** fold weight of an added member (absent: 1); never on a remove */
  samples: Samples.optional(),
  signer: PeerIdString,
  signature: SignatureString
}).superRefine((c, ctx) => {
  if (c.op === 'remove' && c.capacity !== undefined) ctx.addIssue({ code: 'custom', path: ['capacity'], message: 'a remove carries no capacity' })
  if (c.op === 'remove' && c.samples !== undefined) ctx.addIssue({ code: 'custom', path: ['samples'], message: 'a remove carries no samples' })
})

export type Member = z.output<typeof MemberSchema>
export type ManifestBody = z.output<typeof ManifestBodySchema>
export type Invitation = z.output<typeof InvitationSchema>
export type Admission = z.output<typeof AdmissionSchema>
export type MembershipChange = z.output<typeof MembershipChangeSchema>

/** A manifest whose run id and signature have been checked (or that this node just signed). */
export interface SignedManifest {
  readonly body: ManifestBody
  /** base32 CIDv1 (json, sha2-256) of the body's canonical bytes */
  readonly runId: string
  /** base64url Ed25519 signature by `body.creator` */
  readonly signature: string
}

/** A copy of `obj` without its undefined-valued keys: the documents built here are plain JSON, optional fields absent. */
export function withoutUndefined<T extends Record<string, unknown>> (obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T
}

/** Parse `value` with `schema`, or throw ERR_MANIFEST_SCHEMA naming the first wrong field. */
export function parseWith<S extends z.ZodType> (schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value)
  if (!r.success) {
    const { field, message } = settingsIssue(r.error)
    throw new ManifestError(ManifestErrorCode.Schema, `${what}: ${field}: ${message}`, field)
  }
  return r.data
}

/**
 * Parse a manifest body. Every setting that has a default must be written out: a manifest that
 * left one to the reader's default would mean different things to nodes of different versions.
 */
export function parseManifestBody (value: unknown): ManifestBody {
  const body = parseWith(ManifestBodySchema, value, 'manifest')
  const raw = (value as { settings: Record<string, unknown> }).settings
  for (const key of Object.keys(RUN_DEFAULTS)) {
    if (raw[key] === undefined) {
      throw new ManifestError(ManifestErrorCode.Schema, `manifest: settings.${key}: missing (a manifest writes out every setting, defaults included)`, `settings.${key}`)
    }
  }
  return body
}
