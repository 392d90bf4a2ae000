#!/usr/bin/env node
// Entry shim: Tapestry needs Node >= 22 (js-libp2p 3); re-run on the pinned Node from the
// `node` dev dependency when invoked by an older system Node.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(pinned)) {
    console.error(`tapestry: Node >= 22 required (found ${process.version}); run \`npm ci\` to install the pinned Node`)
    process.exit(1)
  }
  const r = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
const cli = join(root, process.env.TAPESTRY_DIST ?? 'dist', 'src', 'cli', 'main.js')
if (!existsSync(cli)) {
  console.error('tapestry: not built; run `npm run build`')
  process.exit(1)
}
await import(new URL(`file://${cli}`).href)
