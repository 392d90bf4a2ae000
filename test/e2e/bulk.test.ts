// Bulk transfer between real daemons (protocols/blob.md §7): with it on, update blobs above the
// threshold travel over the TLS-PSK side connections, rounds commit with one model everywhere,
// and status counts what each daemon sent that way.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalCluster } from '../../src/daemon/cluster.js'

const clusters: LocalCluster[] = []
// stopped, then their data dirs (four or five daemons' chains and blobs, tens of MB) removed
after(async () => { for (const c of clusters) { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) } })

test('3 daemons with bulk transfer on: dense updates go over the bulk connections, one model everywhere', { timeout: 180_000 }, async () => {
  const c = await LocalCluster.create({
    nodes: 3,
    rounds: 0,
    config: {
      // dense 8-bit updates of the MLP (~200 kB): above the 64 KiB threshold set here
      codec: 'int8', innerSteps: 2, batch: 32, deadlineMs: 6_000, collectMs: 3_000, backupStepMs: 3_000, threads: 1,
      bulkTransfer: true, bulkMinBytes: 65_536
    }
  })
  clusters.push(c)
  await c.startAll()
  await c.waitFor('round 3 applied everywhere', async () => {
    for (let i = 0; i < 3; i++) if (!(await c.rounds(i)).some(r => r.round >= 3)) return false
    return true
  }, 120_000)
  const status = await Promise.all([0, 1, 2].map(async i => await c.query(i, 'status')))
  for (const s of status) {
    assert.ok(s.bulk != null && s.bulk.port > 0, 'bulk transfer listens')
    assert.equal(s.bulk.refused, 0, 'no handshake refused between members')
  }
  const sent = status.reduce((a, s) => a + (s.bulk?.transfers ?? 0), 0)
  // gossip mode: every member fetches every other member's update, each round
  assert.ok(sent >= 3 * 2 * 3, `updates sent over bulk connections: ${sent}`)
  for (const s of status) assert.ok((s.bulk?.bytes ?? 0) >= 65_536 * (s.bulk?.transfers ?? 0))
  const models = new Map<number, string>()
  for (let i = 0; i < 3; i++) {
    for (const r of await c.rounds(i)) {
      const seen = models.get(r.round)
      if (seen != null) assert.equal(r.modelId, seen, `node ${i} round ${r.round}`)
      else models.set(r.round, r.modelId)
    }
  }
  const log = await readFile(join(c.dir, 'node-0.log'), 'utf8')
  assert.match(log, /bulk transfers \(blob ranges of 65536 bytes and more, TLS-PSK\) on TCP port \d+/)
  assert.doesNotMatch(log, /bulk transfer port unreachable/)
})
