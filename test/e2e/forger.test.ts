// A member forges a long branch against real daemons: it contributes until it is in the electorate,
// then serves a 60-round branch listing every member and ending in an all-zero model, and shows the
// others the fork. Fork choice counts builders by their announce signatures (sync.md §7), so every
// honest node keeps its branch; counted by what commits list, the forged one would win.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFile, rm } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LocalCluster } from '../../src/daemon/cluster.js'
import { ensureIdentity } from '../../src/daemon/datadir.js'
import type { StoredCommit } from '../../src/daemon/chain-store.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const AGENT = join(HERE, 'forger-agent.js')
const CODEC = 'topk:0.03+q4'
const CONFIG = { innerSteps: 5, threads: 1, deadlineMs: 6_000, collectMs: 2_000, backupStepMs: 2_000, partition: 'iid', codec: CODEC }

test('a member forging a long branch that lists everyone moves no one: builders are counted by their signatures', { timeout: 300_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 3, rounds: 0, config: CONFIG })
  const forgerDir = join(c.dir, 'forger')
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  const forger = peerIdFromPrivateKey(await ensureIdentity(forgerDir)).toString()
  await c.startAll()
  await c.admit(forger)
  await c.waitFor('round 1 applied', async () => (await c.rounds(0)).some(r => r.round >= 1), 120_000)
  const agent = spawn(process.execPath, [AGENT, JSON.stringify({
    addr: `/ip4/127.0.0.1/tcp/${c.nodes[0].port}/p2p/${c.nodes[0].peerId}`, runId: c.manifest.runId, keyFile: join(forgerDir, 'identity.key'), codec: CODEC, seconds: 45, forged: 60
  })], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  agent.stdout.on('data', d => { out += String(d) })
  await new Promise(resolve => agent.once('exit', resolve))
  const report = JSON.parse(out.trim()) as { announced: number, includedAt: number, forkRound: number, forged: number, gossiped: number, error: string }
  process.stdout.write(`# forger: ${JSON.stringify(report)}\n`)
  assert.equal(report.error, '')
  assert.ok(report.includedAt >= 0 && report.forged === 60 && report.gossiped > 3, 'the forger got into the electorate, forged its branch and showed it')

  for (let i = 0; i < 3; i++) {
    const lines = (await readFile(join(c.dir, `node-${i}.log`), 'utf8')).split('\n').filter(l => l.includes('"msg":"fork from round'))
    const forks = lines.map(l => JSON.parse(l) as { msg: string, rule?: string, values?: { mine: number, theirs: number } }).filter(l => l.msg.includes(forger))
    // each honest node looked at the forged branch and kept its own, by builders: the forger alone signed on the other
    assert.ok(forks.length > 0, `node ${i} checked the fork`)
    for (const f of forks) {
      assert.match(f.msg, /kept this node's branch/, `node ${i}: ${f.msg}`)
      assert.equal(f.rule, 'builders', `node ${i}: ${f.msg}`)
      assert.ok(f.values != null && f.values.theirs === 1 && f.values.mine >= 3, `node ${i}: ${f.msg}`)
    }
    // and its chain holds no commit of the forger from the fork round on
    const commits = (await readFile(join(c.nodes[i].dataDir, 'chain', 'commits.jsonl'), 'utf8')).trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit)
    assert.ok(commits.every(k => k.round < report.forkRound || k.aggregator !== forger), `node ${i}: no forged commit adopted`)
    assert.ok(commits.some(k => k.round >= report.forkRound + 2), `node ${i}: the run went on past the fork round`)
  }
})
