// ONNX Runtime's own telemetry stays off: a process that loads the runtime through src/train/ort.ts
// leaves nothing in its home or temporary directory, where loading onnxruntime-node directly
// queues events and a device id under ~/.cache and leaves /tmp/mat-debug-<pid>.log behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MODEL = fileURLToPath(new URL('../../../test/fixtures/torch-mlp.onnx', import.meta.url))
const ORT = new URL('../../src/train/ort.js', import.meta.url).href

/** Every file a child left in its own home and temporary directory after creating one session. */
async function leftBy (load: string): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), 'tapestry-telemetry-'))
  try {
    await Promise.all(['home', 'tmp'].map(async d => await mkdir(join(root, d))))
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(root, 'home'), TMPDIR: join(root, 'tmp') }
    delete env.ORT_DISABLE_TELEMETRY
    delete env.XDG_CACHE_HOME
    const script = `${load}\nawait ort.InferenceSession.create(${JSON.stringify(MODEL)})`
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 })
    return (await readdir(root, { recursive: true })).map(String).filter(f => f !== 'home' && f !== 'tmp').sort()
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

test('ONNX Runtime\'s telemetry is off: loading it through src/train/ort.ts leaves no trace', { timeout: 120_000 }, async (t) => {
  const direct = await leftBy("const { default: ort } = await import('onnxruntime-node')")
  if (direct.length === 0) t.diagnostic('this ONNX Runtime build records nothing even when loaded directly')
  else t.diagnostic(`loaded directly, the runtime left: ${direct.join(', ')}`)
  assert.deepEqual(await leftBy(`const { default: ort } = await import(${JSON.stringify(ORT)})`), [],
    'nothing written under HOME or TMPDIR')
})
