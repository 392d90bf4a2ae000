// `tapestry export --data-dir`: a node's current model (its last persisted round state) as an ONNX file, by a real CLI process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRun } from '../../src/daemon/create-run.js'
import { ChainStore } from '../../src/daemon/chain-store.js'
import { dataDirPaths } from '../../src/daemon/datadir.js'
import { initParams, modelLayout, type ModelSpec } from '../../src/graph/index.js'
import { readExportedModel } from '../../src/train/index.js'
import { assertRefused, tapestry } from './helpers.js'

test('export --data-dir writes the run\'s model after the last applied round; nothing applied yet is one clear error', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-export-'))
  try {
    const d = join(dir, 'n')
    await createRun(d, { name: 'r' })
    assertRefused(tapestry('export', '--data-dir', d, '--out', join(dir, 'm.onnx')), 'ERR_TRAIN_BAD_INPUT', 'nothing to export')
    const spec: ModelSpec = { kind: 'mlp', sizes: [784, 256, 10] }
    const params = initParams(spec, 9)
    const paths = dataDirPaths(d)
    const store = new ChainStore(paths.chain, paths.state)
    await store.open()
    await store.saveSnapshot({ chain: { round: 4, modelId: 'bafk-test', params, outer: { step: 4, velocity: null }, electorate: [] }, codec: { seed: 1 } }, modelLayout(spec))
    const r = tapestry('export', '--data-dir', d, '--out', join(dir, 'm.onnx'), '--json')
    assert.equal(r.code, 0, r.stderr)
    assert.match(JSON.parse(r.stdout).source as string, /after round 3/)
    const m = readExportedModel(await readFile(join(dir, 'm.onnx')))
    assert.deepEqual(m.spec, spec)
    assert.deepEqual(m.params, params)
    assertRefused(tapestry('export', '--data-dir', d, '--out', join(dir, 'missing', 'm.onnx')), 'ERR_CLI_USAGE', 'does not exist')
    assertRefused(tapestry('export', '--out', join(dir, 'm.onnx')), 'ERR_CLI_USAGE')
    assertRefused(tapestry('sample', '--model', join(dir, 'm.onnx')), 'ERR_TRAIN_BAD_INPUT', 'does not generate text')
  } finally { await rm(dir, { recursive: true, force: true }) }
})
