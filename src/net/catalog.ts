// The run's data catalog in its DHT: each member may publish what its data is — a name, language,
// size, licence; never the data — as a record signed by its own key under /tapestry-catalog/<peer>.
// Every DHT node checks a record before it stores or returns one (the validator below).
import { peerIdFromString } from '@libp2p/peer-id'
import { fromString, toString } from 'uint8arrays'
import { z } from 'zod'
import type { PrivateKey } from '@libp2p/interface'

export const CATALOG_NAMESPACE = 'tapestry-catalog'
const DOMAIN = 'tapestry-catalog-v1\n'
const MAX_RECORD_BYTES = 4096

export const CatalogEntrySchema = z.strictObject({
  runId: z.string().min(1).max(128),
  peerId: z.string().min(1).max(128),
  name: z.string().min(1).max(200),
  language: z.string().max(50).optional(),
  licence: z.string().max(100).optional(),
  description: z.string().max(1000).optional(),
  /** 'text' (bytes of text) or 'rows' (labelled examples) */
  kind: z.enum(['text', 'rows']),
  /** examples this node trains on (documents' bytes for text, rows for a table) */
  size: z.number().int().min(0),
  /** when it was published (ms since the epoch): the newest record of a peer wins */
  at: z.number().int().min(0)
})
export type CatalogEntry = z.output<typeof CatalogEntrySchema>

const RecordSchema = z.strictObject({ entry: CatalogEntrySchema, signature: z.string().max(200) })

const enc = new TextEncoder()

/** The DHT key of `peerId`'s catalog record. */
export function catalogKey (peerId: string): Uint8Array {
  return enc.encode(`/${CATALOG_NAMESPACE}/${peerId}`)
}

/** A signed record of `entry` (whose peerId must be the key's). */
export async function signCatalogEntry (entry: CatalogEntry, key: PrivateKey): Promise<Uint8Array> {
  const body = JSON.stringify(entry)
  const signature = toString(await key.sign(enc.encode(DOMAIN + body)), 'base64url')
  return enc.encode(JSON.stringify({ entry, signature }))
}

/**
 * Checks a catalog record: shape, size, key `/tapestry-catalog/<peerId>` of the entry's peer, the
 * peer's Ed25519 signature, and (when given) the run; returns the entry or throws.
 */
export async function openCatalogRecord (key: Uint8Array, value: Uint8Array, runId?: string): Promise<CatalogEntry> {
  if (value.byteLength > MAX_RECORD_BYTES) throw new Error(`catalog record of ${value.byteLength} bytes, at most ${MAX_RECORD_BYTES}`)
  const r = RecordSchema.safeParse(JSON.parse(new TextDecoder().decode(value)))
  if (!r.success) throw new Error(`not a catalog record: ${r.error.issues[0].message}`)
  const { entry, signature } = r.data
  if (toString(key) !== `/${CATALOG_NAMESPACE}/${entry.peerId}`) throw new Error('catalog record stored under another peer\'s key')
  if (runId != null && entry.runId !== runId) throw new Error(`catalog record of run ${entry.runId}`)
  const publicKey = peerIdFromString(entry.peerId).publicKey
  if (publicKey == null || !await publicKey.verify(enc.encode(DOMAIN + JSON.stringify(entry)), fromString(signature, 'base64url'))) {
    throw new Error('catalog record signature does not verify')
  }
  return entry
}

/** The DHT validator and selector for the catalog namespace of `runId`. */
export function catalogDhtRules (runId: string): { validate: (key: Uint8Array, value: Uint8Array) => Promise<void>, select: (key: Uint8Array, records: Uint8Array[]) => Promise<number> } {
  return {
    validate: async (key, value) => { await openCatalogRecord(key, value, runId) },
    select: async (key, records) => {
      let best = 0
      let bestAt = -1
      for (const [i, v] of records.entries()) {
        try { const e = await openCatalogRecord(key, v, runId); if (e.at > bestAt) { best = i; bestAt = e.at } } catch {}
      }
      return best
    }
  }
}
