// The run's data catalog over the real DHT: members publish signed descriptions of their data (never
// the data), `tapestry catalog` lists every member's; a forged record is refused by the DHT validator.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LocalCluster } from '../../src/daemon/cluster.js'
import { catalogKey, openCatalogRecord, signCatalogEntry } from '../../src/net/index.js'
import { tapestry } from '../cli/helpers.js'

const CONFIG = { innerSteps: 3, threads: 1, deadlineMs: 6_000, collectMs: 2_000, backupStepMs: 2_000, partition: 'iid', catalog: { name: 'digits, ward 7', language: 'none', licence: 'CC-BY-4.0' } }

test('members publish their data catalog records in the run\'s DHT and `tapestry catalog` lists them', { timeout: 180_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 3, rounds: 0, config: CONFIG })
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  await c.startAll()
  let listed: { entries: Array<{ peerId: string, name: string, licence?: string, kind: string, size: number }>, missing: string[] } = { entries: [], missing: [] }
  await c.waitFor('every member in the catalog', async () => {
    const r = tapestry('catalog', '--data-dir', c.nodes[0].dataDir, '--json')
    if (r.code !== 0) return false
    listed = JSON.parse(r.stdout) as typeof listed
    return listed.entries.length === 3
  }, 90_000, 2000)
  assert.deepEqual(listed.entries.map(e => e.peerId).sort(), c.nodes.map(n => n.peerId).sort())
  for (const e of listed.entries) {
    assert.equal(e.name, 'digits, ward 7')
    assert.equal(e.licence, 'CC-BY-4.0')
    assert.equal(e.kind, 'rows')
    assert.ok(e.size > 1000, 'its shard size, counted by the node')
  }
  assert.deepEqual(listed.missing, [])
})

test('a catalog record signed by another key, or for another run, is refused', async () => {
  const [key, other] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
  const peerId = peerIdFromPrivateKey(key).toString()
  const entry = { runId: 'brun', peerId, name: 'x', kind: 'rows' as const, size: 1, at: 1 }
  const good = await signCatalogEntry(entry, key)
  assert.equal((await openCatalogRecord(catalogKey(peerId), good, 'brun')).name, 'x')
  await assert.rejects(openCatalogRecord(catalogKey(peerId), await signCatalogEntry(entry, other), 'brun'), /signature/)
  await assert.rejects(openCatalogRecord(catalogKey(peerIdFromPrivateKey(other).toString()), good, 'brun'), /another peer/)
  await assert.rejects(openCatalogRecord(catalogKey(peerId), good, 'bother'), /run/)
})
