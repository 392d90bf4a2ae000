// Content ids of blobs: CIDv1, raw codec (0x55), sha2-256 — the only form Tapestry serves or fetches,
// in one spelling: base32 lowercase as a string, the minimal binary form as bytes.
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { bases } from 'multiformats/basics'
import type { MultibaseDecoder } from 'multiformats/bases/interface'
import * as Digest from 'multiformats/hashes/digest'
import { equals } from 'uint8arrays/equals'
import { NetErrorCode, WireError, clip } from './errors.js'

export const RAW_CODEC = 0x55
export const SHA2_256_CODE = 0x12
/** Longest CID string accepted from the wire: base32 of a 36-byte CID is 59 chars. */
export const MAX_CID_STRING = 128

/** A CID known to be v1 / raw / sha2-256 with a 32-byte digest. */
export type BlobCid = CID<unknown, typeof RAW_CODEC, typeof SHA2_256_CODE, 1>

/** The CID of `bytes`. Synchronous (node:crypto) so stores can use it on hot paths. */
export function blobCid (bytes: Uint8Array): BlobCid {
  const digest = createHash('sha256').update(bytes).digest()
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256_CODE, new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)))
}

/** Narrow an arbitrary CID to a BlobCid, or throw ERR_NET_BAD_CID. */
export function asBlobCid (cid: CID): BlobCid {
  if (cid.version !== 1 || cid.code !== RAW_CODEC || cid.multihash.code !== SHA2_256_CODE || cid.multihash.digest.byteLength !== 32) {
    throw new WireError(NetErrorCode.BAD_CID, `not a CIDv1/raw/sha2-256 blob id: ${clip(cid.toString())}`)
  }
  return cid as BlobCid
}

/** Every multibase multiformats knows, by prefix: a blob id in another base is recognised, then refused as non-canonical. */
const BASES = new Map<string, MultibaseDecoder<string>>(Object.values(bases).map(b => [b.prefix, b.decoder]))
const ANY_BASE: MultibaseDecoder<string> = {
  decode: s => {
    const d = BASES.get(String.fromCodePoint(s.codePointAt(0) ?? 0))
    if (d == null) throw new SyntaxError('unknown multibase prefix')
    return d.decode(s)
  }
}

/** The blob CID rebuilt from its digest alone: the canonical bytes and string. */
function canonical (cid: BlobCid): BlobCid {
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256_CODE, cid.multihash.digest))
}

/**
 * Parse a CID string (as carried in announces and commits) into a BlobCid. Only the spelling
 * `blobCid(...).toString()` writes is accepted (ERR_NET_NON_CANONICAL otherwise: uppercase, base58,
 * any other multibase), so an update, a model or a blob has one id that peers compare as strings.
 * A CIDv0 or another codec or hash is ERR_NET_BAD_CID.
 */
export function parseBlobCid (s: string): BlobCid {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_CID_STRING) {
    throw new WireError(NetErrorCode.BAD_CID, `bad CID string length ${String(s?.length)}`)
  }
  let cid: CID
  try {
    cid = CID.parse(s, ANY_BASE)
  } catch (err) {
    throw new WireError(NetErrorCode.BAD_CID, `unparseable CID "${clip(s)}"`, {}, { cause: err })
  }
  const blob = canonical(asBlobCid(cid))
  if (blob.toString() !== s) {
    throw new WireError(NetErrorCode.NON_CANONICAL, `CID "${clip(s)}" is not in its canonical spelling ${blob.toString()} (CIDv1, base32 lowercase)`)
  }
  return blob
}

/** Decode binary CID bytes (as carried in blob requests) into a BlobCid; only its minimal form is accepted. */
export function decodeBlobCid (bytes: Uint8Array): BlobCid {
  let cid: CID
  try {
    cid = CID.decode(bytes)
  } catch (err) {
    throw new WireError(NetErrorCode.BAD_CID, 'undecodable CID bytes', { length: bytes.byteLength }, { cause: err })
  }
  const blob = canonical(asBlobCid(cid))
  if (!equals(blob.bytes, bytes)) throw new WireError(NetErrorCode.NON_CANONICAL, 'CID bytes are not in their minimal form', { length: bytes.byteLength })
  return blob
}

/** Accept either form at API edges. */
export function toBlobCid (cid: CID | string): BlobCid {
  return typeof cid === 'string' ? parseBlobCid(cid) : asBlobCid(cid)
}

/** True when `s` is a blob CID string in its canonical spelling. */
export function isBlobCidString (s: string): boolean {
  try {
    parseBlobCid(s)
    return true
  } catch {
    return false
  }
}
