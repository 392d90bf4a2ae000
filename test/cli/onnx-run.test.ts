// A run whose model is a member's own ONNX file: the manifest names it by sha256, every member must hold the same file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertRefused, tapestry } from './helpers.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures')

test('run create --model-file names the file by hash; a member without it, or with another file, cannot start', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-onnx-'))
  try {
    const run = join(dir, 'run.json')
    const c = tapestry('run', 'create', '--data-dir', join(dir, 'a'), '--name', 'own model', '--model-file', join(FIXTURES, 'torch-mlp.onnx'), '--out', run)
    assert.equal(c.code, 0, c.stderr)
    const m = JSON.parse(await readFile(run, 'utf8')) as { body: { settings: { model: string } } }
    assert.match(m.body.settings.model, /^onnx:[0-9a-f]{64}$/)
    const cfg = JSON.parse(await readFile(join(dir, 'a', 'config.json'), 'utf8')) as { modelPath: string }
    assert.equal(cfg.modelPath, join(FIXTURES, 'torch-mlp.onnx'))

    const b = join(dir, 'b')
    assert.equal(tapestry('init', '--data-dir', b, '--run', run).code, 0)
    assertRefused(tapestry('start', '--data-dir', b), 'ERR_DAEMON_CONFIG', 'set modelPath to its file')
    assert.equal(tapestry('init', '--data-dir', b, '--force', '--set', `modelPath=${join(FIXTURES, 'torch-gpt.onnx')}`).code, 0)
    assertRefused(tapestry('start', '--data-dir', b), 'ERR_DAEMON_CONFIG', 'not the same file')
  } finally { await rm(dir, { recursive: true, force: true }) }
})
