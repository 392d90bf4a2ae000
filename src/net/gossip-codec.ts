// Gossip wire codec: the round layer's plain Presence / Announce / Commit to signed protobuf bytes
// and back, with every field checked before any signature is verified. Spec: protocols/gossip.md.
import { NetErrorCode, WireError, clip, decodeError } from './errors.js'
import { parseBlobCid } from './cid.js'
import { equals } from 'uint8arrays/equals'
import { openEnvelope, seal, verifyEnvelope } from './signed.js'
import { Presence as PresencePb } from './wire/presence.js'
import { Announce as AnnouncePb } from './wire/announce.js'
import { Commit as CommitPb, ExcludedUpdate as ExcludedPb } from './wire/commit.js'
import { SubAggregate as SubAggregatePb } from './wire/subaggregate.js'
import type { SignedKind } from './signed.js'
import type { Announce, AnnounceProof, Commit, ExclusionReason, Presence, SubAggregate } from '../round/messages.js'
import type { PrivateKey } from '@libp2p/interface'

/** The only wire version of the gossip payloads this code speaks. */
export const GOSSIP_VERSION = 1

/** Envelope caps (whole signed bytes). A commit lists up to 4096 updates at ~200 bytes each (an announce proof is 68 of them). */
export const MAX_GOSSIP_BYTES: Readonly<Record<SignedKind, number>> = {
  presence: 4 * 1024,
  announce: 8 * 1024,
  commit: 1024 * 1024,
  /** a group fold lists its group's updates: a few hundred at most in practice */
  subAggregate: 256 * 1024
}

export const MAX_INCLUDED = 4096
const MAX_RUN_ID = 128
const MAX_ID = 256
const MAX_CODEC = 128
const RUN_ID_RE = /^[A-Za-z0-9._-]+$/
const PEER_ID_RE = /^[1-9A-HJ-NP-Za-km-z]+$|^[a-z2-7]+$/

export interface MessageOf {
  presence: Presence
  announce: Announce
  commit: Commit
  subAggregate: SubAggregate
}

/** A decoded message whose signature verified, with who signed it and the exact bytes. */
export interface Verified<T> {
  message: T
  /** peer id of the signer (always equal to the author the message names) */
  from: string
  /** the signed envelope as received: store and forward these, never a re-encoding */
  bytes: Uint8Array
}

export interface GossipDecodeOptions {
  /** refuse messages of any other run (ERR_NET_WRONG_RUN); unchecked when absent */
  runId?: string
  /** envelope cap in bytes; @default MAX_GOSSIP_BYTES[kind] */
  maxBytes?: number
}

/** Per-kind mapping: a table, so adding a message kind is one entry, not a new branch everywhere. */
interface KindCodec<T> {
  encode: (msg: T) => Uint8Array
  decode: (payload: Uint8Array) => T & { version: number }
  /** why the message is refused, or undefined */
  check: (msg: T) => Problem | undefined
  author: (msg: T) => string
  runId: (msg: T) => string
}

const CODECS: { [K in SignedKind]: KindCodec<MessageOf[K]> } = {
  presence: {
    encode: m => PresencePb.encode({ version: GOSSIP_VERSION, runId: m.runId, peerId: m.peerId, round: m.round, modelId: m.modelId, capacity: m.capacity, seq: m.seq ?? 0 }),
    decode: b => {
      const w = PresencePb.decode(b)
      const p: Presence & { version: number } = { version: w.version, runId: w.runId, peerId: w.peerId, round: w.round, modelId: w.modelId, capacity: w.capacity }
      if (w.seq > 0) p.seq = w.seq
      return p
    },
    check: m => checkRun(m.runId) ?? checkPeer('peerId', m.peerId) ?? checkInt('round', m.round, -1) ??
      checkCid('modelId', m.modelId) ?? checkCapacity(m.capacity) ?? checkInt('seq', m.seq ?? 0, 0),
    author: m => m.peerId,
    runId: m => m.runId
  },
  announce: {
    encode: m => AnnouncePb.encode({
      version: GOSSIP_VERSION, runId: m.runId, round: m.round, peerId: m.peerId, updateId: m.updateId,
      baseModelId: m.baseModelId, samples: m.samples, codec: m.codec, size: m.size, capacity: m.capacity, attempt: m.attempt ?? 0
    }),
    decode: b => {
      const w = AnnouncePb.decode(b)
      const a: Announce & { version: number } = {
        version: w.version, runId: w.runId, round: w.round, peerId: w.peerId, updateId: w.updateId,
        baseModelId: w.baseModelId, samples: w.samples, codec: w.codec, size: w.size, capacity: w.capacity
      }
      if (w.attempt > 0) a.attempt = w.attempt
      return a
    },
    check: m => checkRun(m.runId) ?? checkInt('round', m.round, 0) ?? checkPeer('peerId', m.peerId) ??
      checkCid('updateId', m.updateId) ?? checkCid('baseModelId', m.baseModelId) ?? checkInt('samples', m.samples, 0) ??
      checkCodec(m.codec) ?? checkInt('size', m.size, 0) ?? checkCapacity(m.capacity) ?? checkInt('attempt', m.attempt ?? 0, 0, 255),
    author: m => m.peerId,
    runId: m => m.runId
  },
  commit: {
    encode: m => CommitPb.encode({
      version: GOSSIP_VERSION, runId: m.runId, round: m.round, aggregator: m.aggregator, rank: m.rank,
      prevModelId: m.prevModelId,
      included: m.included.map(includedToWire),
      newModelId: m.newModelId, aggregateId: m.aggregateId,
      subAggregates: (m.subAggregates ?? []).map(s => ({ group: s.group, subAggregateId: s.subAggregateId, aggregator: s.aggregator, rank: s.rank })),
      excluded: (m.excluded ?? []).map(e => ({ updateId: e.updateId, peerId: e.peerId, reason: REASON_TO_WIRE[e.reason] })),
      equivocations: (m.equivocations ?? []).map(e => ({ first: e.first as Uint8Array<ArrayBuffer>, second: e.second as Uint8Array<ArrayBuffer> }))
    }),
    decode: b => {
      const w = CommitPb.decode(b)
      const c: Commit & { version: number } = {
        version: w.version, runId: w.runId, round: w.round, aggregator: w.aggregator, rank: w.rank, prevModelId: w.prevModelId,
        included: w.included.map(u => includedFromWire(u)),
        newModelId: w.newModelId, aggregateId: w.aggregateId
      }
      // absent outside hierarchical mode, as the round layer builds such commits
      if (w.subAggregates.length > 0) c.subAggregates = w.subAggregates.map(s => ({ group: s.group, subAggregateId: s.subAggregateId, aggregator: s.aggregator, rank: s.rank }))
      // absent when nothing was left out; an unknown reason decodes to '' and fails the check
      if (w.excluded.length > 0) c.excluded = w.excluded.map(e => ({ updateId: e.updateId, peerId: e.peerId, reason: REASON_FROM_WIRE[e.reason] ?? '' as ExclusionReason }))
      // accused and round are filled in by decodeSigned once both envelopes verify (provenEquivocations)
      if (w.equivocations.length > 0) c.equivocations = w.equivocations.map(e => ({ first: e.first, second: e.second, accused: '', round: -1 }))
      return c
    },
    check: m => checkRun(m.runId) ?? checkInt('round', m.round, 0) ?? checkPeer('aggregator', m.aggregator) ??
      checkInt('rank', m.rank, 0, 0xffffffff) ?? checkCid('prevModelId', m.prevModelId) ?? checkIncluded(m.included) ??
      checkCid('newModelId', m.newModelId) ?? (m.aggregateId === '' ? undefined : checkCid('aggregateId', m.aggregateId)) ??
      checkSubAggregateRefs(m.subAggregates ?? []) ?? checkExcluded(m.excluded ?? []),
    author: m => m.aggregator,
    runId: m => m.runId
  },
  subAggregate: {
    encode: m => SubAggregatePb.encode({
      version: GOSSIP_VERSION, runId: m.runId, round: m.round, group: m.group, aggregator: m.aggregator, rank: m.rank,
      baseModelId: m.baseModelId, subAggregateId: m.subAggregateId,
      included: m.included.map(includedToWire),
      size: m.size
    }),
    decode: b => {
      const w = SubAggregatePb.decode(b)
      return {
        version: w.version, runId: w.runId, round: w.round, group: w.group, aggregator: w.aggregator, rank: w.rank,
        baseModelId: w.baseModelId, subAggregateId: w.subAggregateId,
        included: w.included.map(u => includedFromWire(u)),
        size: w.size
      }
    },
    check: m => checkRun(m.runId) ?? checkInt('round', m.round, 0) ?? checkInt('group', m.group, 0, 0xffffffff) ??
      checkPeer('aggregator', m.aggregator) ?? checkInt('rank', m.rank, 0, 0xffffffff) ?? checkCid('baseModelId', m.baseModelId) ??
      checkCid('subAggregateId', m.subAggregateId) ?? checkIncluded(m.included) ?? checkInt('size', m.size, 0),
    author: m => m.aggregator,
    runId: m => m.runId
  }
}

/** The canonical payload bytes of `msg` (what its envelope signs), without checks or signature. */
export function encodePayload<K extends SignedKind> (kind: K, msg: MessageOf[K]): Uint8Array {
  return (CODECS[kind] as KindCodec<MessageOf[K]>).encode(msg)
}

/**
 * Encode and sign `msg` with `key`. The key must be the author's (the message's peerId or
 * aggregator field), and the message must pass the same checks a receiver applies: a node never
 * emits what its peers would reject. Throws ERR_NET_BAD_INPUT / ERR_NET_PEER_ID_MISMATCH / ERR_NET_OVERSIZED.
 */
export async function encodeSigned<K extends SignedKind> (kind: K, msg: MessageOf[K], key: PrivateKey, signerPeerId: string): Promise<Uint8Array> {
  const codec = CODECS[kind] as KindCodec<MessageOf[K]>
  const problem = codec.check(msg)
  if (problem != null) throw new WireError(NetErrorCode.BAD_INPUT, `refusing to send ${kind}: ${problem.reason}`, { kind })
  if (codec.author(msg) !== signerPeerId) {
    throw new WireError(NetErrorCode.PEER_ID_MISMATCH, `${kind} names author ${clip(codec.author(msg))} but would be signed by ${signerPeerId}`)
  }
  const bytes = await seal(key, kind, codec.encode(msg))
  if (bytes.byteLength > MAX_GOSSIP_BYTES[kind]) {
    throw new WireError(NetErrorCode.OVERSIZED, `${kind} of ${bytes.byteLength} bytes exceeds ${MAX_GOSSIP_BYTES[kind]}`, { length: bytes.byteLength })
  }
  return bytes
}

/**
 * Decode, check and verify a signed message of `kind`. Cheap checks run first, the signature
 * last. Throws WireError: ERR_NET_OVERSIZED, ERR_NET_MALFORMED, ERR_NET_NON_CANONICAL (an envelope or
 * payload that is not the canonical protobuf encoding, or an id not spelled as `blobCid` writes it:
 * a message has exactly one byte form), ERR_NET_WRONG_KIND, ERR_NET_UNKNOWN_VERSION, ERR_NET_WRONG_RUN,
 * ERR_NET_PEER_ID_MISMATCH, ERR_NET_BAD_SIGNATURE.
 */
export async function decodeSigned<K extends SignedKind> (kind: K, bytes: Uint8Array, options: GossipDecodeOptions = {}): Promise<Verified<MessageOf[K]>> {
  const codec = CODECS[kind] as KindCodec<MessageOf[K]>
  const env = openEnvelope(bytes, kind, options.maxBytes ?? MAX_GOSSIP_BYTES[kind])
  let decoded: MessageOf[K] & { version: number }
  try {
    decoded = codec.decode(env.payload)
  } catch (err) {
    throw decodeError(`${kind} payload`, err)
  }
  if (decoded.version !== GOSSIP_VERSION) {
    throw new WireError(NetErrorCode.UNKNOWN_VERSION, `${kind} version ${decoded.version}, speak ${GOSSIP_VERSION}`, { version: decoded.version })
  }
  const { version: _v, ...message } = decoded
  const msg = message as unknown as MessageOf[K]
  const problem = codec.check(msg)
  if (problem != null) throw new WireError(problem.code, `${kind}: ${problem.reason}`, { kind })
  if (!equals(codec.encode(msg), env.payload)) {
    throw new WireError(NetErrorCode.NON_CANONICAL, `${kind} payload is not canonically encoded`, { kind })
  }
  if (options.runId != null && codec.runId(msg) !== options.runId) {
    throw new WireError(NetErrorCode.WRONG_RUN, `${kind} for run ${clip(codec.runId(msg))}, expected ${clip(options.runId)}`)
  }
  if (codec.author(msg) !== env.signer) {
    throw new WireError(NetErrorCode.PEER_ID_MISMATCH, `${kind} names author ${clip(codec.author(msg))} but is signed by ${env.signer}`, { signer: env.signer })
  }
  await verifyEnvelope(env)
  if (kind === 'commit') await proveEquivocations(msg as Commit, options)
  return { message: msg, from: env.signer, bytes }
}

/** Cap on each signed commit inside an equivocation proof. */
export const MAX_PROOF_COMMIT_BYTES = 256 * 1024

/**
 * A commit's equivocation proofs, checked: each holds two signed commits that verify, have the
 * same author, run and round, carry no proofs themselves, and differ. Fills in each proof's
 * `accused` and `round` from what verified; throws ERR_NET_MALFORMED otherwise.
 */
async function proveEquivocations (c: Commit, options: GossipDecodeOptions): Promise<void> {
  for (const [i, p] of (c.equivocations ?? []).entries()) {
    const fail = (why: string): WireError => new WireError(NetErrorCode.MALFORMED, `commit: equivocation proof ${i}: ${why}`, { kind: 'commit' })
    let a: Commit
    let b: Commit
    try {
      a = (await decodeSigned('commit', p.first, { ...options, maxBytes: MAX_PROOF_COMMIT_BYTES })).message
      b = (await decodeSigned('commit', p.second, { ...options, maxBytes: MAX_PROOF_COMMIT_BYTES })).message
    } catch (err) {
      throw fail((err as Error).message)
    }
    if ((a.equivocations?.length ?? 0) > 0 || (b.equivocations?.length ?? 0) > 0) throw fail('a proof inside a proof')
    if (a.aggregator !== b.aggregator || a.round !== b.round || a.runId !== b.runId) throw fail('the two commits are not one author\'s for one round')
    if (equals(p.first, p.second) || equals(CODECS.commit.encode(a), CODECS.commit.encode(b))) throw fail('the two commits are the same')
    p.accused = a.aggregator
    p.round = a.round
  }
}

export async function encodePresence (msg: Presence, key: PrivateKey, signerPeerId: string): Promise<Uint8Array> {
  return await encodeSigned('presence', msg, key, signerPeerId)
}
export async function encodeAnnounce (msg: Announce, key: PrivateKey, signerPeerId: string): Promise<Uint8Array> {
  return await encodeSigned('announce', msg, key, signerPeerId)
}
export async function encodeCommit (msg: Commit, key: PrivateKey, signerPeerId: string): Promise<Uint8Array> {
  return await encodeSigned('commit', msg, key, signerPeerId)
}
export async function encodeSubAggregate (msg: SubAggregate, key: PrivateKey, signerPeerId: string): Promise<Uint8Array> {
  return await encodeSigned('subAggregate', msg, key, signerPeerId)
}
export async function decodeSubAggregate (bytes: Uint8Array, options?: GossipDecodeOptions): Promise<Verified<SubAggregate>> {
  return await decodeSigned('subAggregate', bytes, options)
}
export async function decodePresence (bytes: Uint8Array, options?: GossipDecodeOptions): Promise<Verified<Presence>> {
  return await decodeSigned('presence', bytes, options)
}
export async function decodeAnnounce (bytes: Uint8Array, options?: GossipDecodeOptions): Promise<Verified<Announce>> {
  return await decodeSigned('announce', bytes, options)
}
export async function decodeCommit (bytes: Uint8Array, options?: GossipDecodeOptions): Promise<Verified<Commit>> {
  return await decodeSigned('commit', bytes, options)
}

/**
 * Why a message is refused: a field outside its domain (ERR_NET_MALFORMED), or an id that is a blob
 * CID but not in its one spelling (ERR_NET_NON_CANONICAL).
 */
interface Problem { reason: string, code: typeof NetErrorCode.MALFORMED | typeof NetErrorCode.NON_CANONICAL }

const bad = (reason: string): Problem => ({ reason, code: NetErrorCode.MALFORMED })

function checkRun (runId: string): Problem | undefined {
  if (typeof runId !== 'string' || runId.length === 0 || runId.length > MAX_RUN_ID || !RUN_ID_RE.test(runId)) {
    return bad(`bad runId "${clip(String(runId))}"`)
  }
  return undefined
}

function checkPeer (field: string, s: string): Problem | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_ID || !PEER_ID_RE.test(s)) return bad(`bad ${field} "${clip(String(s))}"`)
  return undefined
}

/** Update, model, aggregate and group-fold ids: blob CIDs, spelled as `blobCid(...).toString()` writes them. */
function checkCid (field: string, s: string): Problem | undefined {
  try {
    parseBlobCid(s)
    return undefined
  } catch (err) {
    if ((err as WireError).code === NetErrorCode.NON_CANONICAL) return { reason: `${field}: ${(err as Error).message}`, code: NetErrorCode.NON_CANONICAL }
    return bad(`${field} "${clip(String(s))}" is not a blob CID`)
  }
}

function checkInt (field: string, n: number, min: number, max = Number.MAX_SAFE_INTEGER): Problem | undefined {
  if (!Number.isSafeInteger(n) || n < min || n > max) return bad(`${field} ${n} outside [${min}, ${max}]`)
  return undefined
}

function checkCapacity (c: number): Problem | undefined {
  if (typeof c !== 'number' || !Number.isFinite(c) || c < 0 || c > 1e9) return bad(`capacity ${c} not finite in [0, 1e9]`)
  return undefined
}

function checkCodec (s: string): Problem | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_CODEC || !/^[\x21-\x7e]+$/.test(s)) return bad(`bad codec "${clip(String(s))}"`)
  return undefined
}

function checkIncluded (included: Commit['included']): Problem | undefined {
  if (!Array.isArray(included) || included.length > MAX_INCLUDED) return bad(`included has more than ${MAX_INCLUDED} entries`)
  for (let i = 0; i < included.length; i++) {
    const u = included[i]
    const r = checkCid(`included[${i}].updateId`, u.updateId) ?? checkPeer(`included[${i}].peerId`, u.peerId) ??
      checkInt(`included[${i}].samples`, u.samples, 0) ?? checkCapacity(u.capacity) ?? checkInt(`included[${i}].size`, u.size ?? 0, 0) ??
      (u.announced == null ? undefined : checkProof(`included[${i}].announced`, u.announced))
    if (r != null) return r
  }
  return undefined
}

const ED25519_SIGNATURE_BYTES = 64

/** An announce proof: an Ed25519 signature and a republish counter in the announce's own range. */
function checkProof (field: string, p: AnnounceProof): Problem | undefined {
  if (!(p.signature instanceof Uint8Array) || p.signature.byteLength !== ED25519_SIGNATURE_BYTES) return bad(`${field}.signature is not ${ED25519_SIGNATURE_BYTES} bytes`)
  return checkInt(`${field}.attempt`, p.attempt, 0, 255)
}

interface IncludedWire { updateId: string, peerId: string, samples: number, capacity: number, size: number, announceSignature: Uint8Array<ArrayBuffer>, announceAttempt: number }

function includedToWire (u: Commit['included'][number]): IncludedWire {
  return {
    updateId: u.updateId, peerId: u.peerId, samples: u.samples, capacity: u.capacity, size: u.size ?? 0,
    announceSignature: (u.announced?.signature ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>, announceAttempt: u.announced?.attempt ?? 0
  }
}

/** An included update as decoded: `size` only where it was written (0 means an older commit without it), the proof only where it was. */
function includedFromWire (u: IncludedWire): Commit['included'][number] {
  const out: Commit['included'][number] = { updateId: u.updateId, peerId: u.peerId, samples: u.samples, capacity: u.capacity }
  if (u.size > 0) out.size = u.size
  // an attempt without a signature is not canonical (re-encoding drops it) and fails the payload check
  if (u.announceSignature.byteLength > 0) out.announced = { signature: u.announceSignature, attempt: u.announceAttempt }
  return out
}

const REASON_TO_WIRE: Record<ExclusionReason, ExcludedPb.Reason> = { late: ExcludedPb.Reason.LATE, unfetchable: ExcludedPb.Reason.UNFETCHABLE, refused: ExcludedPb.Reason.REFUSED }
const REASON_FROM_WIRE: Partial<Record<string, ExclusionReason>> = { [ExcludedPb.Reason.LATE]: 'late', [ExcludedPb.Reason.UNFETCHABLE]: 'unfetchable', [ExcludedPb.Reason.REFUSED]: 'refused' }

function checkExcluded (excluded: NonNullable<Commit['excluded']>): Problem | undefined {
  if (!Array.isArray(excluded) || excluded.length > MAX_INCLUDED) return bad(`excluded has more than ${MAX_INCLUDED} entries`)
  for (let i = 0; i < excluded.length; i++) {
    const e = excluded[i]
    const r = checkCid(`excluded[${i}].updateId`, e.updateId) ?? checkPeer(`excluded[${i}].peerId`, e.peerId) ??
      (REASON_TO_WIRE[e.reason] === undefined ? bad(`excluded[${i}].reason is not late, unfetchable or refused`) : undefined)
    if (r != null) return r
  }
  return undefined
}

function checkSubAggregateRefs (refs: NonNullable<Commit['subAggregates']>): Problem | undefined {
  if (!Array.isArray(refs) || refs.length > MAX_INCLUDED) return bad(`subAggregates has more than ${MAX_INCLUDED} entries`)
  for (let i = 0; i < refs.length; i++) {
    const s = refs[i]
    const r = checkInt(`subAggregates[${i}].group`, s.group, 0, 0xffffffff) ?? checkCid(`subAggregates[${i}].subAggregateId`, s.subAggregateId) ??
      checkPeer(`subAggregates[${i}].aggregator`, s.aggregator) ?? checkInt(`subAggregates[${i}].rank`, s.rank, 0, 0xffffffff)
    if (r != null) return r
  }
  return undefined
}
