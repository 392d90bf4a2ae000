// A node's own model: graphs exported by PyTorch 1.13 (torch.onnx.export, opset 17; scripts/torch-fixtures.py)
// replay into the builder with the same outputs as stock ORT, train, and unknown ops are one clear error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import ort from '../../src/train/ort.js'
import onnxProto from 'onnx-proto'
import { buildInferenceModel, buildTrainingStep, importOnnx, initOptimizerState, initParams, GraphError, type ModelSpec } from '../../src/graph/index.js'
import { Rng } from '../../src/tensor/rng.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures')
const file = (name: string): Uint8Array => readFileSync(join(FIXTURES, name))

async function logits (bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes)
  try { return (await s.run(feeds)).logits.data as Float32Array } finally { await s.release() }
}

/**
 * Runs the fused step `runs` times from the model's own initial parameters, feeding each run's
 * examples from `batch(r)`; returns the first step's loss and the last run's last loss.
 */
async function trainRuns (spec: ModelSpec, k: number, runs: number, batch: (r: number) => Record<string, ort.Tensor>): Promise<{ first: number, last: number }> {
  const opt = { kind: 'adamw' } as const
  const step = buildTrainingStep(spec, opt, k)
  const s = await ort.InferenceSession.create(step.model)
  let params = initParams(spec, 1)
  let state = initOptimizerState(opt, params.length)
  let first = NaN
  let last = NaN
  try {
    for (let r = 0; r < runs; r++) {
      const f: Record<string, ort.Tensor> = {
        params: new ort.Tensor('float32', params, [params.length]),
        lr: new ort.Tensor('float32', new Float32Array([1e-2]), []),
        ...batch(r)
      }
      step.stateNames.forEach((n, i) => { f[n] = new ort.Tensor('float32', state[i], [state[i].length]) })
      const out = await s.run(f)
      const losses = out.losses.data as Float32Array
      if (r === 0) first = losses[0]
      last = losses[k - 1]
      params = out.params_out.data as Float32Array
      state = step.stateNames.map(n => out[`${n}_out`].data as Float32Array)
    }
  } finally { await s.release() }
  return { first, last }
}

function close (a: Float32Array, b: Float32Array, tol: number): void {
  assert.equal(a.length, b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]))
  assert.ok(worst < tol, `largest difference ${worst}`)
}

test('a PyTorch MLP: same logits as the original in stock ORT; its weights are the parameters; it trains', async () => {
  const bytes = file('torch-mlp.onnx')
  const { spec, init, layout } = importOnnx(bytes, { name: 'torch-mlp.onnx' })
  assert.deepEqual(layout.entries.map(e => e.name), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'])
  assert.equal(spec.loss, 'softmax_cross_entropy')
  const rng = new Rng(1)
  const x = Float32Array.from({ length: 3 * 784 }, () => rng.next())
  const feeds = { x: new ort.Tensor('float32', x, [3, 784]) }
  close(await logits(buildInferenceModel(spec, init), feeds), await logits(bytes, feeds), 1e-5)

  const y = BigInt64Array.from({ length: 4 * 8 }, (_, i) => BigInt(i % 10))
  const xs = Float32Array.from({ length: 4 * 8 * 784 }, (_, i) => ((i % 784) === Number(y[Math.floor(i / 784)]) * 7 ? 1 : 0))
  const { first, last } = await trainRuns(spec, 4, 20, () => ({ x: new ort.Tensor('float32', xs, [4, 8, 784]), y: new ort.Tensor('int64', y, [4, 8]) }))
  assert.ok(last < 0.1 * first, `loss ${first} → ${last}`)
})

test('a PyTorch GPT block (Trilu mask, Where, LayerNormalization, Erf GELU, Split, tied head, folded constants): same logits, trains', async () => {
  const bytes = file('torch-gpt.onnx')
  const { spec, init, layout } = importOnnx(bytes, { name: 'torch-gpt.onnx' })
  assert.equal(spec.loss, 'token_cross_entropy')
  assert.ok(layout.entries.some(e => e.name === 'wte.weight'))
  const tokens = BigInt64Array.from({ length: 2 * 16 }, (_, i) => BigInt((i * 37) % 256))
  const feeds = { tokens: new ort.Tensor('int64', tokens, [2, 16]) }
  close(await logits(buildInferenceModel(spec, init), feeds), await logits(bytes, feeds), 1e-4)

  const text = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz'.repeat(4))
  const { first, last } = await trainRuns(spec, 2, 15, r => {
    const x: bigint[] = []
    const y: bigint[] = []
    for (let w = 0; w < 2 * 4; w++) {
      const o = (r * 7 + w * 3) % 26
      for (let j = 0; j < 16; j++) { x.push(BigInt(text[o + j])); y.push(BigInt(text[o + j + 1])) }
    }
    return { tokens: new ort.Tensor('int64', BigInt64Array.from(x), [2, 4, 16]), y: new ort.Tensor('int64', BigInt64Array.from(y), [2, 4, 16]) }
  })
  assert.ok(last < 0.3 * first, `loss ${first} → ${last}`)
})

test('an op the builder does not know is one error naming the op, its node and the supported set', () => {
  const m = onnxProto.onnx.ModelProto.decode(file('torch-mlp.onnx'))
  m.graph!.node![1].opType = 'Celu'
  const bytes = onnxProto.onnx.ModelProto.encode(m).finish()
  assert.throws(() => importOnnx(bytes, { name: 'edited.onnx' }), (e: unknown) =>
    e instanceof GraphError && /op Celu \(node .+\) is not supported; supported ops: .*LayerNormalization.*Trilu/.test(e.message))
  assert.throws(() => importOnnx(new Uint8Array([9, 9, 9]), { name: 'junk.onnx' }), GraphError)
})
