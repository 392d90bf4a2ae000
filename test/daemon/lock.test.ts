// The data dir lock: one holder at a time, a dead holder's lock taken over, released only by its owner.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirLock, assertUnlocked, lockOwner, pidAlive } from '../../src/daemon/lock.js'
import { DaemonError, DaemonErrorCode } from '../../src/daemon/errors.js'

async function withDir (fn: (dir: string, path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-lock-'))
  try { await fn(dir, join(dir, 'daemon.pid')) } finally { await rm(dir, { recursive: true }) }
}

const locked = (pid: number) => (err: unknown): boolean => {
  assert.ok(err instanceof DaemonError)
  assert.equal(err.code, DaemonErrorCode.DataDirLocked)
  assert.equal(err.pid, pid)
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

test('a holder that died but was not reaped yet (a zombie) counts as dead', { skip: process.platform !== 'linux' }, async () => {
  const p = spawn('sh', ['-c', 'kill -9 $$'], { stdio: 'ignore' })
  const pid = p.pid!
  // polled synchronously: libuv reaps the child on a later turn of the event loop, so until this
  // test yields, the dead child stays a zombie
  const state = (): string | undefined => {
    try { const st = readFileSync(`/proc/${pid}/stat`, 'utf8'); return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) } catch { return undefined }
  }
  const until = Date.now() + 5_000
  while (state() !== 'Z' && Date.now() < until) { /* spin: the child turns zombie within milliseconds */ }
  assert.equal(state(), 'Z')
  assert.equal(pidAlive(pid), false)
  assert.equal(pidAlive(process.pid), true)
  await new Promise(resolve => p.once('exit', resolve))
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

test('four processes racing for one stale lock: exactly one wins, the others are refused naming it', async () => {
  const lockJs = new URL('../../src/daemon/lock.js', import.meta.url).href
  // each child tries once, reports, and holds what it got until its stdin closes
  const script = `
    const { DataDirLock } = await import(${JSON.stringify(lockJs)})
    try {
      const l = await DataDirLock.acquire(process.argv[1], 'dir')
      process.stdout.write('won\\n')
      process.stdin.resume()
      process.stdin.on('end', () => { l.release(); process.exit(0) })
    } catch (err) { process.stdout.write(err.code + ' ' + err.message + '\\n'); process.exit(0) }`
  await withDir(async (dir, path) => {
    await writeFile(path, `${await deadPid()}\n`)
    const kids = Array.from({ length: 4 }, () => spawn(process.execPath, ['--input-type=module', '-e', script, path], { stdio: ['pipe', 'pipe', 'inherit'] }))
    const lines = await Promise.all(kids.map(async k => await new Promise<string>(resolve => {
      let out = ''
      k.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('\n')) resolve(out.trim()) })
    })))
    const winners = kids.filter((_, i) => lines[i] === 'won')
    assert.equal(winners.length, 1, lines.join('\n'))
    for (const l of lines.filter(l => l !== 'won')) assert.match(l, new RegExp(`^ERR_DAEMON_DATA_DIR_LOCKED .*pid ${winners[0].pid}\\b`))
    await Promise.all(kids.map(async k => { k.stdin.end(); if (k.exitCode == null) await new Promise(resolve => k.once('exit', resolve)) }))
    assert.deepEqual(await readdir(dir), [])
  })
})
