// The crash drill shared by test/e2e/crash.test.ts and bench/crash.ts: real daemons SIGKILLed at
// seeded random moments and restarted on the same data dir, their stores read while they are dead.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalCluster, sleep } from '../../src/daemon/cluster.js'
import { dataDirPaths } from '../../src/daemon/datadir.js'
import { pidAlive } from '../../src/daemon/lock.js'
import { parseBlobCid } from '../../src/net/cid.js'
import { loadCheckpoint } from '../../src/train/index.js'
import { Rng } from '../../src/tensor/index.js'
import type { StoredCommit } from '../../src/daemon/chain-store.js'

/** Rounds take a few hundred ms: one inner step, short windows (the storage test's settings). */
export const FAST = { threads: 1, innerSteps: 1, deadlineMs: 1_500, collectMs: 400, backupStepMs: 400, keepRounds: 3 }

/** What a dead daemon left on disk. */
export interface Persisted {
  /** rounds of the commit log's whole lines, in file order */
  rounds: number[]
  /** the model id each of those commits leads to */
  models: string[]
  /** the log ended in a partial line (a kill mid-append) */
  tornTail: boolean
  /** the round the engine snapshot resumes at (the round after its last commit); null when there is none */
  snapshotRound: number | null
  snapshotModel: string | null
  /** blob files checked against their CID */
  blobs: number
  /** names of leftover temp files in the data dir's stores */
  temps: string[]
}

/**
 * Reads a stopped node's stores as a second implementation would, asserting they are not corrupt:
 * every commit line but a torn last one parses, rounds are consecutive from 0, the snapshot's
 * checksum holds, and every blob's content hashes to its name.
 */
export async function readPersisted (dataDir: string): Promise<Persisted> {
  const paths = dataDirPaths(dataDir)
  let text = ''
  try { text = await readFile(join(paths.chain, 'commits.jsonl'), 'utf8') } catch {}
  const lines = text.split('\n')
  const tornTail = lines[lines.length - 1] !== ''
  const whole = lines.slice(0, -1)
  const commits = whole.map((l, i) => {
    try { return (JSON.parse(l) as StoredCommit).commit } catch { throw new Error(`${paths.chain}: line ${i + 1} is corrupt`) }
  })
  const rounds = commits.map(c => c.round)
  const models = commits.map(c => c.newModelId)
  rounds.forEach((r, i) => assert.equal(r, i, `${paths.chain}: commit rounds run 0, 1, 2, … (${rounds.join(',')})`))
  let snapshotRound: number | null = null
  let snapshotModel: string | null = null
  try {
    const meta = (await loadCheckpoint(join(paths.state, 'engine.ck'))).meta
    snapshotRound = meta.round as number
    snapshotModel = meta.modelId as string
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_TRAIN_CHECKPOINT_IO') throw err
  }
  let blobs = 0
  const temps: string[] = []
  for (const name of await readdir(paths.blobs)) {
    if (name.includes('.tmp')) { temps.push(`blobs/${name}`); continue }
    const cid = parseBlobCid(name)
    const digest = createHash('sha256').update(await readFile(join(paths.blobs, name))).digest()
    assert.ok(Buffer.from(cid.multihash.digest).equals(digest), `blob ${name}: content does not match its id`)
    blobs++
  }
  for (const name of await readdir(paths.state)) if (name.includes('.tmp')) temps.push(`state/${name}`)
  for (const name of await readdir(paths.chain)) if (name.includes('.tmp')) temps.push(`chain/${name}`)
  return { rounds, models, tornTail, snapshotRound, snapshotModel, blobs, temps }
}

export interface DrillOptions {
  nodes: number
  kills: number
  seed: string
  /** the longest any one wait may take */
  waitMs?: number
  log?: (line: string) => void
}

export interface KillRecord {
  node: number
  afterMs: number
  persisted: Persisted
  resumedAt: number
  /** commits past the snapshot the restart dropped from the log */
  dropped: number
  restartMs: number
}

export interface DrillResult {
  kills: KillRecord[]
  /** a round every node applied after the last restart, and its one model id */
  agreed: { round: number, modelId: string }
  ms: number
}

/** What a restarted daemon logged at start: the round it resumed at, and the commits it dropped from its log. */
async function restartLog (c: LocalCluster, i: number, logFrom: number): Promise<{ resumedAt: number, dropped: number }> {
  const text = (await readFile(join(c.dir, `node-${i}.log`))).subarray(logFrom).toString('utf8')
  let resumedAt = 0
  let dropped = 0
  for (const l of text.split('\n')) {
    if (l.includes('"msg":"resumed from the last commit"')) resumedAt = (JSON.parse(l) as { round: number }).round
    if (l.includes('"msg":"commits past the last snapshot dropped')) dropped = (JSON.parse(l) as { dropped: number }).dropped
  }
  return { resumedAt, dropped }
}

export async function crashDrill (c: LocalCluster, o: DrillOptions): Promise<DrillResult> {
  const t0 = Date.now()
  const waitMs = o.waitMs ?? 60_000
  const say = o.log ?? (() => {})
  const rng = new Rng(o.seed)
  await c.startAll()
  await c.waitFor('round 1 applied everywhere', async () => {
    for (let i = 0; i < o.nodes; i++) if (!(await c.rounds(i)).some(r => r.round >= 1)) return false
    return true
  }, waitMs, 100)
  const kills: KillRecord[] = []
  for (let k = 0; k < o.kills; k++) {
    const afterMs = Math.round(200 + rng.next() * 2_800)
    await sleep(afterMs)
    const node = rng.int(o.nodes)
    const pid = c.nodes[node].proc?.pid
    assert.ok(pid != null && c.running(node), `kill ${k}: node ${node} runs`)
    c.kill(node, 'SIGKILL')
    await c.waitExit(node, 10_000)
    assert.equal(c.nodes[node].proc?.signalCode, 'SIGKILL', `kill ${k}: node ${node} died of SIGKILL`)
    assert.equal(pidAlive(pid), false, `kill ${k}: pid ${pid} is gone`)
    const persisted = await readPersisted(c.nodes[node].dataDir)
    const lockPath = dataDirPaths(c.nodes[node].dataDir).lock
    assert.equal(Number((await readFile(lockPath, 'utf8')).trim()), pid, 'the dead daemon\'s lock is left behind')
    // only the killed daemon's own writes can be unfinished: the restart before cleaned up older ones
    for (const t of persisted.temps) assert.match(t, new RegExp(`\\.tmp-${pid}(-\\d+)?$`), `kill ${k}: a temp file of an earlier process is left: ${t}`)
    // the last commit: the snapshot's (the commit point); the log holds it, and it leads to the snapshot's model
    const expect = persisted.snapshotRound ?? 0
    assert.ok(persisted.rounds.length >= expect, `kill ${k}: the log holds every commit the snapshot covers (${persisted.rounds.length} < ${expect})`)
    if (expect > 0) assert.equal(persisted.models[expect - 1], persisted.snapshotModel, `kill ${k}: commit ${expect - 1} leads to the snapshot's model`)
    const logFrom = (await readFile(join(c.dir, `node-${node}.log`))).byteLength
    const r0 = Date.now()
    await c.start(node)
    const restartMs = Date.now() - r0
    assert.equal(Number((await readFile(lockPath, 'utf8')).trim()), c.nodes[node].proc?.pid, `kill ${k}: the restarted daemon took the lock over`)
    const { resumedAt, dropped } = await restartLog(c, node, logFrom)
    assert.equal(resumedAt, expect, `kill ${k}: node ${node} resumed at round ${resumedAt}, its snapshot holds ${expect} (log ${persisted.rounds.length} commits${persisted.tornTail ? ' + torn tail' : ''})`)
    // commits the snapshot did not cover (killed between the two writes) were dropped from the log
    assert.equal(dropped, persisted.rounds.length - expect, `kill ${k}: commits past the snapshot dropped`)
    assert.ok((await c.query(node, 'status')).round >= expect, `kill ${k}: the restarted node reports round ≥ ${expect}`)
    kills.push({ node, afterMs, persisted, resumedAt, dropped, restartMs })
    say(`kill ${k}: node ${node} after ${afterMs} ms: log ${persisted.rounds.length}${persisted.tornTail ? '+torn' : ''}, snapshot ${String(persisted.snapshotRound)}, ${persisted.blobs} blobs, ${persisted.temps.length} temp files; resumed at ${resumedAt} (${dropped} commits dropped) in ${restartMs} ms`)
  }
  // the run goes on: every node applies a round past the highest any node had reached
  const status = await Promise.all(c.nodes.map(async (_, i) => await c.query(i, 'status')))
  const target = Math.max(...status.map(s => s.round)) + 1
  let agreed: { round: number, modelId: string } | undefined
  await c.waitFor(`every node to apply round ${target}`, async () => {
    const hs = await Promise.all(c.nodes.map(async (_, i) => await c.rounds(i)))
    const common = hs[0].filter(h => h.round >= target && hs.every(o => o.some(x => x.round === h.round)))
    if (common.length === 0) return false
    const r = common[0].round
    const ids = new Set(hs.map(o => o.find(x => x.round === r)!.modelId))
    assert.equal(ids.size, 1, `round ${r}: one model on every node (${[...ids].join(', ')})`)
    agreed = { round: r, modelId: common[0].modelId }
    return true
  }, waitMs, 200)
  return { kills, agreed: agreed!, ms: Date.now() - t0 }
}
