#!/usr/bin/env node
// Entry shim: Tapestry needs Node >= 22 (js-libp2p 3); re-run on the pinned Node from the
// `node` dev dependency when invoked by an older system Node.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants } from 'node:os'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(pinned)) {
    console.error(`tapestry: Node >= 22 required (found ${process.version}); run \`npm ci\` to install the pinned Node`)
    process.exit(1)
  }
  // spawn, not spawnSync: the wrapper must stay responsive to pass a supervisor's signals on,
  // or SIGTERM would stop only the wrapper and leave the daemon running under no one
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => { if (child.exitCode == null && child.signalCode == null) child.kill(sig) })
  }
  child.once('error', err => {
    console.error(`tapestry: cannot run ${pinned}: ${err.message}`)
    process.exit(1)
  })
  child.once('exit', (code, signal) => {
    if (signal != null) {
      // die of the same signal, so whoever started the wrapper sees what happened to the daemon
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
      // a signal Node ignores (SIGPIPE) would not end the wrapper: exit the way a shell reports it
      setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 500)
      return
    }
    process.exit(code ?? 1)
  })
} else {
  await runCli()
}

async function runCli () {
  // V8's compiled code for our modules and libp2p's is cached on disk (Node >= 22.1): the second
  // and later runs of any command skip most of the compiling that made `--help` take 0.8 s
  try { (await import('node:module')).enableCompileCache?.() } catch {}
  const cli = join(root, process.env.TAPESTRY_DIST ?? 'dist', 'src', 'cli', 'main.js')
  if (!existsSync(cli)) {
    console.error('tapestry: not built; run `npm run build`')
    process.exit(1)
  }
  await import(new URL(`file://${cli}`).href)
}
