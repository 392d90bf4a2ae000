import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint, TrainError, TrainErrorCode } from '../../src/train/index.js'
import { createLayout, layoutToString } from '../../src/tensor/index.js'

const layout = createLayout([{ name: 'w', shape: [3, 4] }, { name: 'b', shape: [4] }])
const params = Float32Array.from({ length: 16 }, (_, i) => i / 7)

function code (fn: () => unknown): string {
  try { fn() } catch (e) { assert.ok(e instanceof TrainError, String(e)); return e.code }
  assert.fail('expected a TrainError')
}

test('checkpoint round-trips parameters, state and meta', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-ck-'))
  try {
    const path = join(dir, 'a.ck')
    await saveCheckpoint(path, { layout: layoutToString(layout), meta: { steps: 3 }, vectors: { params, m: new Float32Array(16).fill(2) } })
    const ck = await loadCheckpoint(path, layout)
    assert.deepEqual([...ck.vectors.params], [...params])
    assert.equal(ck.vectors.m[5], 2)
    assert.deepEqual(ck.meta, { steps: 3 })
  } finally { await rm(dir, { recursive: true }) }
})

test('corrupt, truncated, foreign and missing checkpoints give typed errors', async () => {
  const bytes = encodeCheckpoint({ layout: layoutToString(layout), meta: {}, vectors: { params } })
  const flipped = bytes.slice(); flipped[flipped.length - 40] ^= 1
  assert.equal(code(() => decodeCheckpoint(flipped)), TrainErrorCode.CheckpointCorrupt)
  assert.equal(code(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 5))), TrainErrorCode.CheckpointCorrupt)
  assert.equal(code(() => decodeCheckpoint(new Uint8Array(10))), TrainErrorCode.CheckpointCorrupt)
  assert.equal(code(() => decodeCheckpoint(new TextEncoder().encode('hello world, this is not a checkpoint at all!!'))), TrainErrorCode.CheckpointCorrupt)
  const other = createLayout([{ name: 'w', shape: [16] }])
  assert.equal(code(() => decodeCheckpoint(bytes, other)), TrainErrorCode.CheckpointLayout)
  await assert.rejects(loadCheckpoint('/nonexistent/x.ck'), (e: TrainError) => e.code === TrainErrorCode.CheckpointIo)
})

test('a failed save leaves the previous checkpoint intact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-ck-'))
  try {
    const path = join(dir, 'a.ck')
    await saveCheckpoint(path, { layout: layoutToString(layout), meta: {}, vectors: { params } })
    const before = await readFile(path)
    await assert.rejects(saveCheckpoint(join(dir, 'missing-dir', 'b.ck'), { layout: '', meta: {}, vectors: {} }))
    await writeFile(join(dir, 'junk'), 'x')
    assert.deepEqual(await readFile(path), before)
  } finally { await rm(dir, { recursive: true }) }
})
