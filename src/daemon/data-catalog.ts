// The node's side of the run's data catalog (net/catalog.ts): publishing its own record into the
// run's DHT and reading every member's, each checked.
import { catalogKey, openCatalogRecord, signCatalogEntry, type CatalogEntry } from '../net/catalog.js'
import type { NodeComponents } from './node.js'

/** how often a node republishes its data catalog record (DHT records expire) */
export const CATALOG_REPUBLISH_MS = 10 * 60_000

/** This node's catalog record (config `catalog`: what its data is, never the data) into the run's DHT. */
export async function publishCatalog (c: NodeComponents): Promise<void> {
  const { cfg, host, log } = c
  if (cfg.catalog == null) return
  const entry: CatalogEntry = { runId: c.members.runId, peerId: host.peerId, ...cfg.catalog, kind: c.test.kind === 'tokens' ? 'text' : 'rows', size: c.samples, at: Date.now() }
  try {
    await host.libp2p.contentRouting.put(catalogKey(host.peerId), await signCatalogEntry(entry, host.privateKey), { signal: AbortSignal.timeout(30_000) })
    log.info({ name: entry.name, size: entry.size }, 'data catalog record published')
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'data catalog record not published (retried later)')
  }
}

/** Every member's catalog record, from the DHT, each checked; members without one listed. */
export async function readCatalog (c: NodeComponents): Promise<{ entries: CatalogEntry[], missing: string[] }> {
  const { host, members } = c
  const entries: CatalogEntry[] = []
  const missing: string[] = []
  await Promise.all(members.current().map(async peer => {
    try {
      const key = catalogKey(peer)
      entries.push(await openCatalogRecord(key, await host.libp2p.contentRouting.get(key, { signal: AbortSignal.timeout(5_000) }), members.runId))
    } catch { missing.push(peer) }
  }))
  return { entries: entries.sort((a, b) => a.peerId < b.peerId ? -1 : 1), missing: missing.sort() }
}
