// Files a crash cannot tear: whole-file replacement by temp file, fsync and rename, the directory
// fsynced so the rename itself survives a power cut; and the cleanup of temps a killed writer left.
import { open, readdir, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

let serial = 0

/**
 * Temp files are `<target>.tmp-<pid>-<n>`: the pid says whose they are (see `isStaleTemp`), the
 * counter keeps two writes of one target in this process from sharing a temp file.
 */
export function tempPath (path: string): string {
  return `${path}.tmp-${process.pid}-${serial++}`
}

const TEMP_RE = /\.tmp-(\d+)(?:-\d+)?$/

/**
 * A temp file of another process: the data dir's lock admits one daemon at a time, so that
 * process is dead and its write never completed. This process's own temps may be in flight.
 */
export function isStaleTemp (name: string): boolean {
  const m = TEMP_RE.exec(name)
  return m != null && Number(m[1]) !== process.pid
}

/** Removes the stale temps (see `isStaleTemp`) in `dir`; returns their names. */
export async function removeStaleTemps (dir: string): Promise<string[]> {
  let names: string[]
  try { names = await readdir(dir) } catch { return [] }
  const stale = names.filter(isStaleTemp)
  for (const name of stale) await unlink(join(dir, name)).catch(() => {})
  return stale
}

/** fsync of a directory: makes the names created, renamed or removed in it durable. */
export async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

/**
 * Replaces `path` with `data` so that a crash at any moment leaves either the old file or the new
 * one, whole: the data is written and fsynced under a temp name, renamed over `path`, and the
 * directory fsynced. On failure the temp file is removed and the old file is untouched.
 */
export async function writeFileAtomic (path: string, data: Uint8Array | string, options: { mode?: number } = {}): Promise<void> {
  const tmp = tempPath(path)
  try {
    const fh = await open(tmp, 'w', options.mode)
    try {
      await writeFile(fh, data)
      await fh.sync()
    } finally { await fh.close() }
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await syncDir(dirname(path))
}
