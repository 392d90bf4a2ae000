// The data dir's exclusive lock: a pid file that only one live daemon can hold, so a second
// `tapestry start` on the same dir (same identity, same stores) is refused instead of running beside it.
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { readFileSync, unlinkSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { DaemonError, DaemonErrorCode } from './errors.js'

/**
 * A takeover marker older than this was left by a process that died between taking over a stale
 * lock and finishing (a few milliseconds of work): it is removed.
 */
const TAKEOVER_STALE_MS = 10_000
const TAKEOVER_RETRY_MS = 20

/** Lock files this process holds, so a second acquire in the same process is refused too. */
const held = new Set<string>()

export type LockOwner = { pid: number, alive: true } | { pid: number | null, alive: false }

/**
 * The lock's owner as far as the file says: a pid that signal 0 reaches is alive (EPERM counts: the
 * process exists, it is just not ours). A pid equal to ours is alive only if this process holds the
 * lock: a container restarted after a crash often gets the same pid as the daemon that died.
 */
export async function lockOwner (path: string): Promise<LockOwner | undefined> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const pid = Number(text.trim())
  if (!Number.isSafeInteger(pid) || pid <= 0) return { pid: null, alive: false }
  if (pid === process.pid) return held.has(path) ? { pid, alive: true } : { pid, alive: false }
  return pidAlive(pid) ? { pid, alive: true } : { pid, alive: false }
}

/** Whether `pid` is a live process (one that exists but is not ours counts; a zombie does not). */
export function pidAlive (pid: number): boolean {
  try { process.kill(pid, 0) } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  return !isZombie(pid)
}

/**
 * A daemon that died but was not yet reaped by its parent (a supervisor slow to wait, a shell in a
 * container) still answers signal 0; on Linux /proc says it is a zombie. Elsewhere: not known, alive.
 */
function isZombie (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch { return false }
}

function lockedError (dir: string, pid: number): DaemonError {
  return new DaemonError(DaemonErrorCode.DataDirLocked,
    `${dir} is in use by a running daemon (pid ${pid}); stop it first (\`tapestry stop --data-dir ${dir}\`)`, undefined, { pid })
}

/** Throws DATA_DIR_LOCKED when a live daemon holds the lock at `path` (for commands that must not run beside one). */
export async function assertUnlocked (path: string, dir: string): Promise<void> {
  const owner = await lockOwner(path)
  if (owner?.alive === true) throw lockedError(dir, owner.pid)
}

export class DataDirLock {
  private released = false
  private readonly onExit = (): void => { this.release() }

  private constructor (readonly path: string) {
    // a crash (uncaught error, process.exit from a backstop timer) still frees the dir; SIGKILL
    // cannot be caught, which is what the stale-pid takeover is for
    process.on('exit', this.onExit)
  }

  /**
   * Takes the lock at `path` (the data dir `dir`), or throws DATA_DIR_LOCKED naming the holder's pid.
   * The pid is written to a private file first and then hard-linked into place, so the lock appears
   * with its content (a reader never sees an empty lock) and the link fails if one exists.
   */
  static async acquire (path: string, dir: string): Promise<DataDirLock> {
    const mine = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
    await writeFile(mine, `${process.pid}\n`)
    try {
      for (;;) {
        try {
          await link(mine, path)
          held.add(path)
          return new DataDirLock(path)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        }
        const owner = await lockOwner(path)
        if (owner?.alive === true) throw lockedError(dir, owner.pid)
        if (owner != null) await takeOverStale(path, owner.pid)
      }
    } finally {
      await unlink(mine).catch(() => {})
    }
  }

  /** Removes the lock if it is still ours; synchronous so it can run in an 'exit' handler. Idempotent. */
  release (): void {
    if (this.released) return
    this.released = true
    process.off('exit', this.onExit)
    held.delete(this.path)
    try {
      if (Number(readFileSync(this.path, 'utf8').trim()) === process.pid) unlinkSync(this.path)
    } catch {}
  }
}

/**
 * Removes a stale lock (its pid is dead). Two starters may find the same stale lock at once: each
 * must not delete the live lock the other has just made. So the removal happens under a second,
 * short-lived exclusive marker, after checking again that the lock still names the dead pid.
 */
async function takeOverStale (path: string, stalePid: number | null): Promise<void> {
  const marker = `${path}.takeover`
  try {
    await writeFile(marker, `${process.pid}\n`, { flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    try {
      if (Date.now() - (await stat(marker)).mtimeMs > TAKEOVER_STALE_MS) await unlink(marker)
    } catch {}
    // the other starter may finish meanwhile: the caller looks at the lock again
    await new Promise(resolve => setTimeout(resolve, TAKEOVER_RETRY_MS))
    return
  }
  try {
    const owner = await lockOwner(path)
    if (owner != null && !owner.alive && owner.pid === stalePid) await unlink(path).catch(() => {})
  } finally {
    await unlink(marker).catch(() => {})
  }
}
