// `tapestry start` as a supervisor sees it, with real processes: one daemon per data dir, every
// fatal start error a prompt non-zero exit naming its code, and signals through the Node-20 wrapper.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRun } from '../../src/daemon/create-run.js'
import type { NodeConfig } from '../../src/daemon/config.js'
import { tapestry, spawnTapestry, waitFor, exitWithin, alive, type Running } from './helpers.js'

/** Light settings: these tests are about the process, not training. */
const LIGHT = { threads: 1, innerSteps: 1, deadlineMs: 60_000, collectMs: 30_000 }

/** From the fatal line to the exit: the error path's own backstop is 2 s; the rest is a loaded 2-core VM. */
const EXIT_AFTER_ERROR_MS = 4_000
/** The whole failed start, mostly loading MNIST and the trainer before the error can happen. */
const FAILED_START_MS = 45_000

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-start-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

async function init (d: string, config: Partial<NodeConfig> = {}): Promise<void> {
  await createRun(d, { name: 'r1', fields: { ...LIGHT, ...config } })
}

async function lockPid (d: string): Promise<number | undefined> {
  try { return Number((await readFile(join(d, 'daemon.pid'), 'utf8')).trim()) } catch { return undefined }
}

/** Starts a daemon and waits until it holds the lock and serves its control API. */
async function startDaemon (d: string, node?: string): Promise<Running> {
  const r = spawnTapestry(['start', '--data-dir', d], { node })
  await waitFor('the daemon to start', async () => {
    if (r.proc.exitCode != null) throw new Error(`daemon exited early:\n${r.output()}`)
    return existsSync(join(d, 'control.json')) && /node started/.test(r.output())
  }, 60_000)
  return r
}

async function listening (): Promise<{ server: Server, port: number }> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const a = server.address()
  return { server, port: typeof a === 'object' && a != null ? a.port : 0 }
}

async function assertFatal (d: string, code: string): Promise<void> {
  const started = Date.now()
  const r = spawnTapestry(['start', '--data-dir', d])
  const exit = await exitWithin(r, FAILED_START_MS)
  assert.equal(exit.code, 1, r.output())
  assert.match(r.output(), new RegExp(`\\[${code}\\]`))
  const errorAt = r.seenAt(new RegExp(code))!
  assert.ok(exit.at - errorAt <= EXIT_AFTER_ERROR_MS, `${code}: exited ${exit.at - errorAt} ms after the error`)
  // the lock went with it: the next start is not refused as DATA_DIR_LOCKED
  assert.equal(await lockPid(d), undefined, `${code}: lock left behind`)
  process.stdout.write(`# ${code}: exit ${exit.code} ${exit.at - errorAt} ms after the error, ${exit.at - started} ms after spawn\n`)
}

test('every fatal start error (no CUDA, port in use, corrupt engine.ck, bad config) exits 1 within seconds, naming its code', { timeout: 240_000 }, async () => {
  await withDir(async dir => {
    const cuda = join(dir, 'cuda')
    await init(cuda, { device: 'cuda' })
    await assertFatal(cuda, 'ERR_TRAIN_DEVICE_UNAVAILABLE')

    const { server, port } = await listening()
    try {
      const busy = join(dir, 'busy')
      await init(busy, { listen: [`/ip4/127.0.0.1/tcp/${port}`] })
      await assertFatal(busy, 'ERR_NET_LISTEN_FAILED')
    } finally { server.close() }

    const corrupt = join(dir, 'corrupt')
    await init(corrupt)
    await writeFile(join(corrupt, 'state', 'engine.ck'), Buffer.from('not a checkpoint, just bytes on disk'))
    await assertFatal(corrupt, 'ERR_DAEMON_STORE_CORRUPT')

    const bad = join(dir, 'bad')
    await init(bad)
    const cfg = JSON.parse(await readFile(join(bad, 'config.json'), 'utf8')) as Record<string, unknown>
    await writeFile(join(bad, 'config.json'), JSON.stringify({ ...cfg, device: 'gpu' }))
    await assertFatal(bad, 'ERR_DAEMON_CONFIG')

    // a node's own data must have the run's schema: text for an MNIST run is refused before libp2p starts
    const text = join(dir, 'text')
    await mkdir(join(dir, 'docs'))
    await writeFile(join(dir, 'docs', 'a.txt'), 'some words '.repeat(100))
    await init(text, { dataPath: join(dir, 'docs') })
    await assertFatal(text, 'ERR_DAEMON_CONFIG')
  })
})

test('a second start on a running data dir is refused (DATA_DIR_LOCKED, naming the pid), so is init --force; a stale lock is taken over', { timeout: 180_000 }, async () => {
  await withDir(async dir => {
    const d = join(dir, 'n')
    await init(d)
    const first = await startDaemon(d)
    try {
      assert.equal(await lockPid(d), first.proc.pid)
      const second = spawnTapestry(['start', '--data-dir', d])
      const exit = await exitWithin(second, 30_000)
      assert.equal(exit.code, 1)
      assert.match(second.output(), /\[ERR_DAEMON_DATA_DIR_LOCKED\]/)
      assert.match(second.output(), new RegExp(`pid ${first.proc.pid}\\b`))
      // the refused one never touched the running one's files
      assert.equal(await lockPid(d), first.proc.pid)
      assert.ok(existsSync(join(d, 'control.json')))

      const reinit = tapestry('init', '--data-dir', d, '--force', '--set', 'batch=16')
      assert.equal(reinit.code, 1)
      assert.match(reinit.stderr, /\[ERR_DAEMON_DATA_DIR_LOCKED\]/)
      assert.doesNotMatch(await readFile(join(d, 'config.json'), 'utf8'), /"batch": 16/)
    } finally {
      first.proc.kill('SIGTERM')
    }
    const stopped = await exitWithin(first, 30_000)
    assert.equal(stopped.code, 0, first.output())
    assert.equal(await lockPid(d), undefined, 'lock released on stop')

    // a daemon killed outright leaves its lock behind; the next start takes it over
    const killed = await startDaemon(d)
    killed.proc.kill('SIGKILL')
    await killed.exited
    assert.equal(await lockPid(d), killed.proc.pid)
    const next = await startDaemon(d)
    assert.equal(await lockPid(d), next.proc.pid)
    next.proc.kill('SIGTERM')
    assert.equal((await exitWithin(next, 30_000)).code, 0)
  })
})

/** The system Node when it is older than 22 (the wrapper's re-run path), else undefined. */
function oldSystemNode (): string | undefined {
  for (const p of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(p)) continue
    const v = spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()
    if (Number(v.split('.')[0]) < 22) return p
  }
  return undefined
}

const OLD_NODE = oldSystemNode()

test('SIGTERM to the Node-20 wrapper stops the real daemon, and the wrapper exits with its code', { timeout: 120_000, skip: OLD_NODE == null ? 'no system Node older than 22 here' : false }, async () => {
  await withDir(async dir => {
    const d = join(dir, 'n')
    await init(d)
    const wrapper = await startDaemon(d, OLD_NODE)
    const daemonPid = (await lockPid(d))!
    assert.notEqual(daemonPid, wrapper.proc.pid, 'the daemon runs in a child of the wrapper')
    assert.ok(alive(daemonPid))
    wrapper.proc.kill('SIGTERM')
    const exit = await exitWithin(wrapper, 30_000)
    assert.equal(exit.code, 0, wrapper.output())
    assert.match(wrapper.output(), /"why":"SIGTERM"/)
    await waitFor('the daemon process to be gone', () => !alive(daemonPid), 5_000)
    assert.equal(await lockPid(d), undefined)
  })
})

test('the wrapper passes the exit code of a failed command through', { skip: OLD_NODE == null ? 'no system Node older than 22 here' : false }, async () => {
  const r = spawnTapestry(['status', '--data-dir', join(tmpdir(), 'tp-none-here')], { node: OLD_NODE })
  const exit = await exitWithin(r, 30_000)
  assert.equal(exit.code, 1)
  assert.match(r.output(), /\[ERR_DAEMON_NO_RUN\]/)
})
