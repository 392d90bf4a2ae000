// The data dir lock: one holder at a time, a dead holder's lock taken over, released only by its owner.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirLock, assertUnlocked, lockOwner } from '../../src/daemon/lock.js'
import { DaemonError } from '../../src/daemon/errors.js'

async function withDir (fn: (dir: string, path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-lock-'))
  try { await fn(dir, join(dir, 'daemon.pid')) } finally { await rm(dir, { recursive: true }) }
}

const locked = (pid: number) => (err: unknown): boolean => {
  assert.ok(err instanceof DaemonError)
  assert.equal(err.code, 'ERR_DATA_DIR_LOCKED')
  assert.match(err.message, new RegExp(`pid ${pid}\\b`))
  return true
}

/** A pid that was alive a moment ago and is not now. */
async function deadPid (): Promise<number> {
  const p = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise(resolve => p.once('exit', resolve))
  return p.pid!
}

test('the lock holds our pid; a second acquire is refused with DATA_DIR_LOCKED; release frees it', async () => {
  await withDir(async (dir, path) => {
    const lock = await DataDirLock.acquire(path, dir)
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid))
    await assert.rejects(DataDirLock.acquire(path, dir), locked(process.pid))
    await assert.rejects(assertUnlocked(path, dir), locked(process.pid))
    lock.release()
    lock.release() // idempotent
    assert.equal(await lockOwner(path), undefined)
    await assertUnlocked(path, dir)
    const again = await DataDirLock.acquire(path, dir)
    again.release()
    // no temp or takeover files left behind
    assert.deepEqual(await readdir(dir), [])
  })
})

test('a lock held by another live process is refused, naming its pid; release never removes a lock that is not ours', async () => {
  await withDir(async (dir, path) => {
    await writeFile(path, `${process.ppid}\n`)
    await assert.rejects(DataDirLock.acquire(path, dir), locked(process.ppid))
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.ppid))
  })
  await withDir(async (dir, path) => {
    const lock = await DataDirLock.acquire(path, dir)
    await writeFile(path, `${process.ppid}\n`) // someone replaced it (an operator, a bug)
    lock.release()
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.ppid))
  })
})

test('a stale lock (dead pid, garbage, or our own pid left by a previous life) is taken over', async () => {
  for (const content of [`${await deadPid()}\n`, 'not a pid', '', `${process.pid}\n`]) {
    await withDir(async (dir, path) => {
      await writeFile(path, content)
      assert.equal((await lockOwner(path))?.alive, false, JSON.stringify(content))
      const lock = await DataDirLock.acquire(path, dir)
      assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid))
      lock.release()
    })
  }
})

test('two starters racing for one stale lock: exactly one wins, the other is refused', async () => {
  for (let i = 0; i < 5; i++) {
    await withDir(async (dir, path) => {
      await writeFile(path, `${await deadPid()}\n`)
      const results = await Promise.allSettled([DataDirLock.acquire(path, dir), DataDirLock.acquire(path, dir), DataDirLock.acquire(path, dir)])
      const won = results.filter(r => r.status === 'fulfilled')
      assert.equal(won.length, 1, JSON.stringify(results.map(r => r.status)))
      for (const r of results) if (r.status === 'rejected') locked(process.pid)(r.reason)
      ;(won[0] as PromiseFulfilledResult<DataDirLock>).value.release()
      assert.deepEqual(await readdir(dir), [])
    })
  }
})
