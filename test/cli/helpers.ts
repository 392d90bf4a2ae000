// Runs the real `tapestry` command (bin/tapestry.js) on the build these tests were compiled into.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..')
const distDir = join(fileURLToPath(import.meta.url), '..', '..', '..').split('/').pop()!

export function tapestry (...args: string[]): { code: number, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'tapestry.js'), ...args], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, TAPESTRY_DIST: distDir, TAPESTRY_LOG: 'warn' }
  })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/**
 * A refused command: non-zero exit and exactly one stderr line ending in ` [code]`. `names`, where
 * given, is the flag or setting that line must name so the user knows what to fix.
 */
export function assertRefused (r: { code: number, stderr: string }, code: string, names?: string): void {
  assert.notEqual(r.code, 0, r.stderr)
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, r.stderr)
  assert.ok(lines[0].endsWith(` [${code}]`), `expected a line ending in [${code}], got: ${r.stderr}`)
  if (names !== undefined) assert.ok(lines[0].includes(names), `expected the line to name ${names}, got: ${r.stderr}`)
}

export interface Running {
  proc: ChildProcess
  /** stdout and stderr so far, interleaved */
  output: () => string
  /** when the output first matched `pattern` (ms since the epoch), if it has */
  seenAt: (pattern: RegExp) => number | undefined
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null, at: number }>
}

/** Starts `tapestry …` without waiting (for daemons): `node` picks the Node that runs bin/tapestry.js. */
export function spawnTapestry (args: string[], o: { node?: string, env?: Record<string, string> } = {}): Running {
  const proc = spawn(o.node ?? process.execPath, [join(root, 'bin', 'tapestry.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TAPESTRY_DIST: distDir, TAPESTRY_LOG: 'info', ...o.env }
  })
  let out = ''
  const seen: Array<{ at: number, text: string }> = []
  const take = (b: Buffer): void => { out += b.toString(); seen.push({ at: Date.now(), text: out }) }
  proc.stdout.on('data', take)
  proc.stderr.on('data', take)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, at: number }>(resolve => {
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }))
  })
  return { proc, output: () => out, seenAt: p => seen.find(s => p.test(s.text))?.at, exited }
}

/** Polls until `pred` holds; throws after `timeoutMs`. */
export async function waitFor (what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await pred()) return
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** Resolves with the exit, or throws (after killing the process) if it has not come within `timeoutMs`. */
export async function exitWithin (r: Running, timeoutMs: number): Promise<{ code: number | null, signal: NodeJS.Signals | null, at: number }> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { r.proc.kill('SIGKILL'); reject(new Error(`still running after ${timeoutMs} ms:\n${r.output()}`)) }, timeoutMs)
  })
  try { return await Promise.race([r.exited, late]) } finally { clearTimeout(timer) }
}

/** Whether a process with this pid exists. */
export function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}
