// Runs the real `tapestry` command (bin/tapestry.js) on the build these tests were compiled into.
import { spawnSync } from 'node:child_process'
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
