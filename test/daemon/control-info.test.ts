// control.json tells the CLI where the running daemon listens; one left by a killed daemon is no daemon.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dataDirPaths, readControlInfo, writeControlInfo } from '../../src/daemon/datadir.js'
import { DaemonError, DaemonErrorCode } from '../../src/daemon/errors.js'

test('a live daemon\'s control info is read back; a killed one\'s is "not running"', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-control-'))
  try {
    const paths = dataDirPaths(dir)
    const notRunning = (e: unknown): boolean => e instanceof DaemonError && e.code === DaemonErrorCode.NotRunning
    await assert.rejects(readControlInfo(paths), notRunning)
    await writeControlInfo(paths, { port: 1234, pid: process.pid, peerId: 'p' })
    assert.deepEqual(await readControlInfo(paths), { port: 1234, pid: process.pid, peerId: 'p' })
    assert.deepEqual(await readdir(dir), ['control.json'])
    // beyond any pid_max: the daemon that wrote it is gone, its port may be someone else's now
    await writeControlInfo(paths, { port: 1234, pid: 99_999_999, peerId: 'p' })
    await assert.rejects(readControlInfo(paths), (e: unknown) => notRunning(e) && /99999999/.test((e as Error).message))
  } finally { await rm(dir, { recursive: true, force: true }) }
})
