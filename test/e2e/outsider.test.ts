// Members only, against real processes: two member daemons train; a non-member process that knows
// one member's address makes 100 attempts of each kind (connect, publish every message kind,
// fetch a blob, request the chain, query the DHT), then relays outsider-signed gossip through a
// member's connection. Nothing gets through: 0 connections kept, 0 blob or state bytes, 0 commits,
// 0 DHT answers, and the member's gossip gate rejects what a member relays.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocalCluster } from '../../src/daemon/cluster.js'
import { ensureIdentity, dataDirPaths } from '../../src/daemon/datadir.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { rm } from 'node:fs/promises'

const ATTEMPTS = 100
const AGENT = join(dirname(fileURLToPath(import.meta.url)), 'outsider-agent.js')
const CONFIG = { innerSteps: 2, threads: 1, deadlineMs: 20_000, collectMs: 3_000 }

async function runAgent (args: object): Promise<{ alone: Record<string, number>, relayed: Record<string, number | string> }> {
  const proc = spawn(process.execPath, [AGENT, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.on('data', d => { out += String(d) })
  proc.stderr.on('data', d => { err += String(d) })
  const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
  assert.equal(code, 0, `agent failed:\n${err}`)
  process.stdout.write(`# agent: ${err.trim().split('\n').pop() ?? ''}\n`)
  return JSON.parse(out.trim().split('\n').pop() ?? '{}')
}

test(`a non-member process: ${ATTEMPTS} attempts of each kind, 0 accepted, 0 bytes served`, { timeout: 300_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 2, rounds: 0, config: CONFIG, minMembers: 2 })
  // a third member key that no daemon uses: the attacker relays through a connection it opens
  const relayDir = join(c.dir, 'relay')
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  const relayKey = await ensureIdentity(relayDir)
  await c.startAll()
  await c.waitFor('round 1 applied', async () => (await c.rounds(0)).some(r => r.round >= 1), 120_000)
  // the relay key becomes a member the way a partner does: an admin admits it
  const relayId = peerIdFromPrivateKey(relayKey).toString()
  await c.admit(relayId)

  const status = await c.query(0, 'status')
  assert.ok(status.model.cid != null)
  const before = status.refused
  const r = await runAgent({
    addr: `/ip4/127.0.0.1/tcp/${c.nodes[0].port}/p2p/${c.nodes[0].peerId}`,
    runId: c.manifest.runId,
    blobCid: status.model.cid,
    memberKeyFile: join(relayDir, 'identity.key'),
    manifestFile: dataDirPaths(c.nodes[0].dataDir).run,
    attempts: ATTEMPTS
  })
  assert.deepEqual({ ...r.alone, errors: undefined }, { dialsAccepted: 0, published: 0, blobBytes: 0, syncCommits: 0, syncModels: 0, dhtResponses: 0, errors: undefined })
  assert.ok(r.alone.errors >= ATTEMPTS * 3, 'every dial, fetch and sync attempt failed')
  assert.equal(r.relayed.connected, 1, 'the member key connects')
  assert.ok(Number(r.relayed.sent) > 0, 'the relayed messages reached the member')

  const after = await c.query(0, 'status')
  assert.ok(after.refused.connections - before.connections >= ATTEMPTS, `refused connections: ${after.refused.connections - before.connections}`)
  assert.ok(after.refused.gossip - before.gossip > 0, 'relayed outsider gossip was rejected by the membership gate')
  // the outsider reached nothing: no presence entry, no membership, no update in any commit
  const outsider = String(r.relayed.outsider)
  assert.ok(!after.peers.some(p => p.peerId === outsider), 'no presence of the outsider')
  const shown = await c.query(0, 'rounds')
  assert.ok(shown.rounds.every(x => x.included <= 3))
  // and the run went on
  const round = after.round
  await c.waitFor('another round after the attack', async () => (await c.query(0, 'status')).round > round, 60_000)
})
