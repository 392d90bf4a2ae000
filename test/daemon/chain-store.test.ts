// The durable chain and snapshot: a crash mid-append loses at most that append, never the store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChainStore } from '../../src/daemon/chain-store.js'
import { DaemonError, DaemonErrorCode } from '../../src/daemon/errors.js'
import { createLayout } from '../../src/tensor/index.js'
import type { StoredCommit } from '../../src/daemon/chain-store.js'

function stored (round: number): StoredCommit {
  return {
    commit: {
      runId: 'r', round, aggregator: 'peer-a', rank: 0, prevModelId: `m${round}`, newModelId: `m${round + 1}`, aggregateId: '',
      included: [{ updateId: `u${round}`, peerId: 'peer-a', samples: 10, capacity: 1 }]
    },
    signed: Buffer.from(`bytes of ${round} — ünïcode`).toString('base64')
  }
}

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-chain-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true }) }
}

const reopen = async (dir: string): Promise<ChainStore> => {
  const s = new ChainStore(join(dir, 'chain'), join(dir, 'state'))
  await s.open()
  return s
}

test('commits survive a reopen; a round is stored once', async () => withDir(async dir => {
  const s = await reopen(dir)
  for (const r of [0, 1, 2, 1]) await s.append(stored(r))
  const again = await reopen(dir)
  assert.deepEqual(again.all.map(c => c.commit.round), [0, 1, 2])
  assert.deepEqual(again.latest, stored(2))
}))

test('announce signatures and equivocation envelopes come back from disk as bytes, as the node applied them', async () => withDir(async dir => {
  const s = await reopen(dir)
  const c = stored(0)
  const signature = new Uint8Array(64).map((_, i) => i * 3)
  c.commit.included[0].announced = { signature, attempt: 2 }
  c.commit.equivocations = [{ first: new Uint8Array([1, 2, 3]), second: new Uint8Array([4, 5]), accused: 'peer-b', round: 0 }]
  await s.append(c)
  const back = (await reopen(dir)).all[0].commit
  assert.ok(back.included[0].announced?.signature instanceof Uint8Array)
  assert.deepEqual(back.included[0].announced, { signature, attempt: 2 })
  assert.deepEqual(back.equivocations, c.commit.equivocations)
}))

test('appendAll: one write for many commits, rounds stored already skipped, a gap refused with nothing written', async () => withDir(async dir => {
  const s = await reopen(dir)
  await s.append(stored(0))
  await s.appendAll([stored(0), stored(1), stored(2), stored(3)])
  assert.deepEqual((await reopen(dir)).all.map(c => c.commit.round), [0, 1, 2, 3])
  const before = await readFile(join(dir, 'chain', 'commits.jsonl'), 'utf8')
  await assert.rejects(s.appendAll([stored(4), stored(6)]), (e: unknown) => e instanceof DaemonError && e.code === DaemonErrorCode.StoreCorrupt)
  assert.equal(await readFile(join(dir, 'chain', 'commits.jsonl'), 'utf8'), before, 'a batch with a gap writes nothing')
  await s.appendAll([stored(4), stored(5)])
  const again = await reopen(dir)
  assert.deepEqual(again.all.map(c => c.commit.round), [0, 1, 2, 3, 4, 5])
  // offsets follow the batch: a roll-back cuts at the right byte
  assert.equal(await again.rollBackTo(3), 3)
  assert.deepEqual((await reopen(dir)).all.map(c => c.commit.round), [0, 1, 2])
}))

test('a torn last append is dropped and cut, so the next append starts clean', async () => withDir(async dir => {
  const s = await reopen(dir)
  for (const r of [0, 1]) await s.append(stored(r))
  const path = join(dir, 'chain', 'commits.jsonl')
  // a crash mid-append: part of a line, no newline (cut inside a multi-byte character, too)
  const line = JSON.stringify(stored(2))
  await appendFile(path, Buffer.from(line).subarray(0, Buffer.byteLength(line) - 12))
  const afterCrash = await reopen(dir)
  assert.deepEqual(afterCrash.all.map(c => c.commit.round), [0, 1])
  await afterCrash.append(stored(2))
  await afterCrash.append(stored(3))
  const later = await reopen(dir)
  assert.deepEqual(later.all.map(c => c.commit.round), [0, 1, 2, 3])
  assert.ok((await readFile(path, 'utf8')).endsWith('\n'))
}))

test('a complete last line that lost only its newline is kept and ended', async () => withDir(async dir => {
  const path = join(dir, 'chain', 'commits.jsonl')
  await reopen(dir)
  await writeFile(path, JSON.stringify(stored(0)) + '\n' + JSON.stringify(stored(1)))
  const s = await reopen(dir)
  assert.deepEqual(s.all.map(c => c.commit.round), [0, 1])
  await s.append(stored(2))
  assert.deepEqual((await reopen(dir)).all.map(c => c.commit.round), [0, 1, 2])
}))

test('corruption before the last line is an error, and the file is left as it was', async () => withDir(async dir => {
  const path = join(dir, 'chain', 'commits.jsonl')
  await reopen(dir)
  const text = JSON.stringify(stored(0)) + '\n{garbage\n' + JSON.stringify(stored(2)) + '\n'
  await writeFile(path, text)
  await assert.rejects(reopen(dir), (e: unknown) => e instanceof DaemonError && e.code === DaemonErrorCode.StoreCorrupt && e.line === 2)
  assert.equal(await readFile(path, 'utf8'), text)
}))

test('snapshots: absent is a fresh node, corrupt is an error', async () => withDir(async dir => {
  const layout = createLayout([{ name: 'w', shape: [8] }])
  const s = await reopen(dir)
  assert.equal(await s.loadSnapshot(layout), undefined)
  const params = new Float32Array(8).map((_, i) => i / 3)
  await s.saveSnapshot({ chain: { round: 4, modelId: 'm4', params, outer: { step: 4, velocity: null }, electorate: [{ peerId: 'peer-a', capacity: 1 }] }, codec: { seed: 7, round: 4 } }, layout)
  const back = await s.loadSnapshot(layout)
  assert.equal(back?.chain.round, 4)
  assert.deepEqual(back?.chain.params, params)
  assert.deepEqual(back?.chain.electorate, [{ peerId: 'peer-a', capacity: 1 }])
  await writeFile(join(dir, 'state', 'engine.ck'), 'not a checkpoint')
  await assert.rejects(s.loadSnapshot(layout), (e: Error & { code?: string }) => e.code === DaemonErrorCode.StoreCorrupt)
}))

test('rewind: a branch left by fork choice is kept as evidence, the chain ends before the fork and takes the new branch', async () => withDir(async dir => {
  const s = await reopen(dir)
  for (const r of [0, 1, 2, 3]) await s.append(stored(r))
  const evidence = await s.rewind(2, 1234)
  assert.equal(evidence, join(dir, 'chain', 'forks', '2-1234.jsonl'))
  const kept = (await readFile(evidence, 'utf8')).trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit.round)
  assert.deepEqual(kept, [2, 3])
  const other = { ...stored(2), commit: { ...stored(2).commit, aggregator: 'peer-b' } }
  await s.append(other)
  const again = await reopen(dir)
  assert.deepEqual(again.all.map(c => [c.commit.round, c.commit.aggregator]), [[0, 'peer-a'], [1, 'peer-a'], [2, 'peer-b']])
  assert.equal(await s.rewind(9), undefined, 'nothing to leave')
}))

const state = (round: number, layout: ReturnType<typeof createLayout>): Parameters<ChainStore['saveSnapshot']>[0] => ({
  chain: { round, modelId: `m${round}`, params: new Float32Array(layout.total).fill(round), outer: { step: round, velocity: null }, electorate: [{ peerId: 'peer-a', capacity: 1 }] },
  codec: { seed: 7, round }
})

test('commits past the snapshot (a kill between append and snapshot, or after a sync) are rolled back at start', async () => withDir(async dir => {
  const layout = createLayout([{ name: 'w', shape: [4] }])
  const s = await reopen(dir)
  for (const r of [0, 1, 2]) await s.append(stored(r))
  await s.saveSnapshot(state(2, layout), layout) // the state after commit 1
  const after = await reopen(dir)
  const snap = await after.loadSnapshot(layout)
  assert.equal(snap?.chain.round, 2)
  assert.equal(await after.rollBackTo(snap.chain.round), 1)
  assert.deepEqual(after.all.map(c => c.commit.round), [0, 1])
  assert.equal(await after.rollBackTo(2), 0)
  // the node applies round 2 again (perhaps another commit for it): it is stored, not skipped as a duplicate
  const other = { ...stored(2), signed: Buffer.from('the commit peers agreed on').toString('base64') }
  await after.append(other)
  const later = await reopen(dir)
  assert.deepEqual(later.all.map(c => c.commit.round), [0, 1, 2])
  assert.deepEqual(later.latest, other)
  // no snapshot at all (killed before the first one): nothing of the log is covered
  await rm(join(dir, 'state', 'engine.ck'))
  assert.equal(await later.loadSnapshot(layout), undefined)
  assert.equal(await later.rollBackTo(0), 3)
  assert.deepEqual((await reopen(dir)).all, [])
}))

test('concurrent appends of one round store it once', async () => withDir(async dir => {
  const s = await reopen(dir)
  await Promise.all([s.append(stored(0)), s.append(stored(0)), s.append(stored(1))])
  assert.deepEqual((await reopen(dir)).all.map(c => c.commit.round), [0, 1])
}))

test('concurrent snapshots never interleave: the last one saved is whole on disk', async () => withDir(async dir => {
  const layout = createLayout([{ name: 'w', shape: [50_000] }])
  const s = await reopen(dir)
  await Promise.all([1, 2, 3, 4].map(async r => { await s.saveSnapshot(state(r, layout), layout) }))
  const back = await (await reopen(dir)).loadSnapshot(layout)
  assert.equal(back?.chain.round, 4)
  assert.equal(back.chain.params[49_999], 4)
  assert.deepEqual(await readdir(join(dir, 'state')), ['engine.ck'])
}))

test('a snapshot temp left by a killed daemon is removed at open', async () => withDir(async dir => {
  await reopen(dir)
  await writeFile(join(dir, 'state', 'engine.ck.tmp-99999999'), 'half a snapshot')
  await reopen(dir)
  assert.deepEqual(await readdir(join(dir, 'state')), [])
}))

test('an unreadable snapshot or log is an error, not a fresh node', async () => withDir(async dir => {
  const layout = createLayout([{ name: 'w', shape: [4] }])
  const s = await reopen(dir)
  await mkdir(join(dir, 'state', 'engine.ck'))
  await assert.rejects(s.loadSnapshot(layout), (e: unknown) => e instanceof DaemonError && e.code === DaemonErrorCode.StoreCorrupt)
  await rm(join(dir, 'chain', 'commits.jsonl'))
  await mkdir(join(dir, 'chain', 'commits.jsonl'))
  await assert.rejects(reopen(dir), (e: unknown) => e instanceof DaemonError && e.code === DaemonErrorCode.StoreCorrupt)
}))

test('the log is one chain: a commit past a gap is refused, and a rewind keeps the offsets a later roll-back cuts at', async () => withDir(async dir => {
  const s = await reopen(dir)
  for (const r of [0, 1, 2]) await s.append(stored(r))
  await assert.rejects(s.append(stored(4)), (e: unknown) => e instanceof DaemonError && e.code === DaemonErrorCode.StoreCorrupt)
  await s.rewind(1, 7)
  await s.append(stored(1))
  await s.append(stored(2))
  assert.equal(await s.rollBackTo(2), 1)
  const again = await reopen(dir)
  assert.deepEqual(again.all.map(c => c.commit.round), [0, 1])
}))
