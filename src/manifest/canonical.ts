// Canonical bytes of a manifest value (deterministic JSON, RFC 8785 for the values allowed here) and the run id hashed from them.
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { ManifestError, ManifestErrorCode } from './errors.js'

/** Multicodec of the hashed bytes: `json` (0x0200), since the run id addresses JSON text. */
export const JSON_CODEC = 0x0200
export const SHA2_256_CODE = 0x12

/**
 * Deterministic JSON: object keys sorted by UTF-16 code units, no whitespace, strings and numbers
 * exactly as `JSON.stringify` writes them. That is RFC 8785 (JCS) for every value a manifest can
 * hold, so a second implementation can use any JCS library. Keys whose value is `undefined` are
 * left out (JSON has no undefined; an optional field is absent). NaN and ±Infinity, `undefined`
 * inside an array, and anything that is not a plain object, array, string, finite number, boolean
 * or null throw ERR_MANIFEST_NOT_CANONICAL rather than being silently rewritten, as
 * `JSON.stringify` would (NaN → null).
 */
export function canonicalJson (value: unknown): string {
  return write(value, '')
}

const encoder = new TextEncoder()

/** UTF-8 of `canonicalJson(value)`: the bytes that are hashed and signed. */
export function canonicalBytes (value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value))
}

function write (v: unknown, path: string): string {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'boolean': return v ? 'true' : 'false'
    case 'string': return JSON.stringify(v)
    case 'number':
      if (!Number.isFinite(v)) throw notCanonical(path, `${String(v)} is not a finite number`)
      return JSON.stringify(v)
    case 'object': break
    default: throw notCanonical(path, `a ${typeof v} has no JSON form`)
  }
  if (Array.isArray(v)) {
    return '[' + v.map((x, i) => {
      if (x === undefined) throw notCanonical(`${path}[${i}]`, 'undefined inside an array')
      return write(x, `${path}[${i}]`)
    }).join(',') + ']'
  }
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) throw notCanonical(path, 'not a plain object')
  const obj = v as Record<string, unknown>
  // Array.prototype.sort without a comparator orders by UTF-16 code units, as RFC 8785 asks
  const keys = Object.keys(obj).filter(k => obj[k] !== undefined).sort()
  return '{' + keys.map(k => JSON.stringify(k) + ':' + write(obj[k], path === '' ? k : `${path}.${k}`)).join(',') + '}'
}

function notCanonical (path: string, what: string): ManifestError {
  return new ManifestError(ManifestErrorCode.NotCanonical, `${path === '' ? '(root)' : path}: ${what}`, path === '' ? undefined : path)
}

export function sha256 (bytes: Uint8Array): Uint8Array {
  const d = createHash('sha256').update(bytes).digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/** The run id of a manifest body: CIDv1, codec json, sha2-256 of its canonical bytes, in base32 ("bagaaiera…"). */
export function runIdOf (body: unknown): string {
  return CID.createV1(JSON_CODEC, Digest.create(SHA2_256_CODE, sha256(canonicalBytes(body)))).toString()
}
