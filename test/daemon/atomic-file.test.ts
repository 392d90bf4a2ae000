// Whole-file replacement survives a crash at any moment, and temps a killed writer left are found.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isStaleTemp, removeStaleTemps, tempPath, writeFileAtomic } from '../../src/daemon/atomic-file.js'

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-atomic-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('writeFileAtomic replaces the whole file and leaves no temp', async () => withDir(async dir => {
  const p = join(dir, 'f.json')
  await writeFileAtomic(p, 'old')
  await writeFileAtomic(p, new Uint8Array([1, 2, 3]))
  assert.deepEqual([...await readFile(p)], [1, 2, 3])
  assert.deepEqual(await readdir(dir), ['f.json'])
}))

test('a failed write leaves the old file as it was and removes its temp', async () => withDir(async dir => {
  const p = join(dir, 'f.json')
  await writeFileAtomic(p, 'old')
  // the rename cannot replace a non-empty directory: the target stays, the temp goes
  const blocked = join(dir, 'sub')
  await mkdir(join(blocked, 'x'), { recursive: true })
  await assert.rejects(writeFileAtomic(blocked, 'new'))
  assert.deepEqual((await readdir(dir)).sort(), ['f.json', 'sub'])
  assert.equal(await readFile(p, 'utf8'), 'old')
}))

test('temps of other processes are stale; this process\'s may be in flight and are kept', async () => withDir(async dir => {
  const mine = tempPath(join(dir, 'a'))
  assert.equal(isStaleTemp(mine), false)
  assert.equal(isStaleTemp('engine.ck.tmp-1'), process.pid !== 1)
  assert.equal(isStaleTemp('privacy.json.tmp-99999999-3'), true)
  assert.equal(isStaleTemp('engine.ck'), false)
  assert.equal(isStaleTemp('x.tmpfile'), false)
  await writeFile(mine, 'in flight')
  await writeFile(join(dir, 'engine.ck.tmp-99999999'), 'left by a kill')
  await writeFile(join(dir, 'engine.ck'), 'kept')
  assert.deepEqual(await removeStaleTemps(dir), ['engine.ck.tmp-99999999'])
  assert.deepEqual((await readdir(dir)).sort(), [mine.slice(dir.length + 1), 'engine.ck'].sort())
  assert.deepEqual(await removeStaleTemps(join(dir, 'absent')), [])
}))
