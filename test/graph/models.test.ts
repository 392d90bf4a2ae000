// MLP layout and init, the eval model, the exported inference model, and spec validation.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import ort from '../../src/train/ort.js'
import {
  buildEvalModel, buildInferenceModel, buildTrainingStep, decodeModel, GraphErrorCode, initParams, modelLayout, SpecError,
  type ModelSpec
} from '../../src/graph/index.js'
import { Rng } from '../../src/tensor/rng.js'
import { numbers, session } from './helpers.js'
import { refForward, refLossGrad } from './reference.js'

const SPEC: ModelSpec = { kind: 'mlp', sizes: [5, 7, 4] }

describe('MLP model', () => {
  it('layout: weight [in,out] then bias per layer, in order', () => {
    const l = modelLayout({ kind: 'mlp', sizes: [784, 256, 10] })
    assert.deepEqual(l.entries.map(e => [e.name, e.shape]), [
      ['layer0.weight', [784, 256]], ['layer0.bias', [256]], ['layer1.weight', [256, 10]], ['layer1.bias', [10]]
    ])
    assert.equal(l.total, 784 * 256 + 256 + 256 * 10 + 10)
  })

  it('init: reproducible from the seed, He scale for hidden layers, zero biases', () => {
    const spec: ModelSpec = { kind: 'mlp', sizes: [400, 300, 10] }
    const a = initParams(spec, 1)
    assert.deepEqual(a, initParams(spec, 1))
    assert.notDeepEqual(a, initParams(spec, 2))
    const [w0, b0, w1] = modelLayout(spec).entries
    const std = (e: typeof w0): number => {
      const v = a.subarray(e.offset, e.offset + e.size)
      return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length)
    }
    assert.ok(Math.abs(std(w0) / Math.sqrt(2 / 400) - 1) < 0.02)
    assert.ok(Math.abs(std(w1) / Math.sqrt(2 / 310) - 1) < 0.05) // Glorot uniform: var = 2/(in+out)
    assert.ok(a.subarray(b0.offset, b0.offset + b0.size).every(v => v === 0))
  })

  it('eval model: mean loss and int64 correct count', async () => {
    const { model, layout } = buildEvalModel(SPEC)
    const s = await session(model)
    const rng = new Rng(1)
    const p = initParams(SPEC, 5)
    const b = 9
    const x = Float32Array.from({ length: b * 5 }, () => rng.normal())
    const y = Array.from({ length: b }, () => rng.int(4))
    const out = await s.run({
      params: new ort.Tensor('float32', p, [layout.total]),
      x: new ort.Tensor('float32', x, [b, 5]),
      y: new ort.Tensor('int64', BigInt64Array.from(y, BigInt), [b])
    })
    assert.equal(out.correct.type, 'int64')
    assert.deepEqual(out.correct.dims, [])
    assert.deepEqual(out.loss.dims, [])
    const { logits } = refForward(SPEC.sizes, p, x, b)
    let correct = 0
    for (let i = 0; i < b; i++) {
      const row = logits.slice(i * 4, i * 4 + 4)
      if (row.indexOf(Math.max(...row)) === y[i]) correct++
    }
    assert.equal(numbers(out.correct)[0], correct)
    assert.ok(Math.abs(numbers(out.loss)[0] - refLossGrad(SPEC.sizes, p, x, y, b).loss) < 1e-5)
  })

  it('inference model: initializers named by the layout, x → logits', async () => {
    const p = initParams(SPEC, 6)
    const bytes = buildInferenceModel(SPEC, p)
    const m = decodeModel(bytes)
    assert.deepEqual(m.graph!.initializer!.map(i => i.name), modelLayout(SPEC).entries.map(e => e.name))
    assert.deepEqual(m.graph!.input!.map(i => i.name), ['x'])
    assert.deepEqual(m.graph!.output!.map(o => o.name), ['logits'])
    const s = await session(bytes)
    const x = Float32Array.from({ length: 3 * 5 }, (_, i) => Math.sin(i))
    const out = await s.run({ x: new ort.Tensor('float32', x, [3, 5]) })
    const want = refForward(SPEC.sizes, p, x, 3).logits
    numbers(out.logits).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5))
  })

  it('bad specs raise SpecError with its code', () => {
    const bad: unknown[] = [
      () => modelLayout({ kind: 'mlp', sizes: [5] }),
      () => modelLayout({ kind: 'mlp', sizes: [5, 0, 3] }),
      () => modelLayout({ kind: 'mlp', sizes: [5, 2.5, 3] }),
      () => modelLayout({ kind: 'cnn' } as unknown as ModelSpec),
      () => buildTrainingStep(SPEC, { kind: 'sgd' }, 0),
      () => buildTrainingStep(SPEC, { kind: 'adamw', beta1: 1.5 }, 1),
      () => buildTrainingStep(SPEC, { kind: 'sgd', clipNorm: 0 }, 1),
      () => buildTrainingStep(SPEC, { kind: 'rmsprop' } as never, 1)
    ]
    for (const f of bad) {
      assert.throws(f as () => void, (e: unknown) => e instanceof SpecError && e.code === GraphErrorCode.SPEC)
    }
  })
})
