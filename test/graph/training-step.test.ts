// End to end in onnxruntime-node: the step graphs train, fuse K steps exactly, and match a JS reference.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import ort from '../../src/train/ort.js'
import {
  bucketLayout, buildTrainingStep, initOptimizerState, initParams, modelLayout,
  type ModelSpec, type OptimizerSpec, type TrainingStepGraph
} from '../../src/graph/index.js'
import { Rng } from '../../src/tensor/rng.js'
import { numbers, session } from './helpers.js'
import { refLossGrad, refUpdate, type RefState } from './reference.js'

interface Run { params: Float32Array, state: Float32Array[], losses: number[] }

async function runStep (t: TrainingStepGraph, s: ort.InferenceSession, params: Float32Array, state: Float32Array[], lr: number, x: Float32Array, y: number[], k: number, b: number): Promise<Run> {
  const feeds: Record<string, ort.Tensor> = {
    params: new ort.Tensor('float32', params, [params.length]),
    lr: new ort.Tensor('float32', new Float32Array([lr]), []),
    x: new ort.Tensor('float32', x, [k, b, ...(t.inputs[0].shape.slice(1) as number[])]),
    y: new ort.Tensor('int64', BigInt64Array.from(y, v => BigInt(v)), [k, b])
  }
  t.stateNames.forEach((n, i) => { feeds[n] = new ort.Tensor('float32', state[i], [state[i].length]) })
  const out = await s.run(feeds)
  return {
    params: out.params_out.data as Float32Array,
    state: t.stateNames.map(n => out[`${n}_out`].data as Float32Array),
    losses: numbers(out.losses)
  }
}

/** Linearly separable blobs: class c centred at 2·e_c in the first dims. */
function blobs (rng: Rng, n: number, dim: number, classes: number): { x: Float32Array, y: number[] } {
  const x = new Float32Array(n * dim)
  const y: number[] = []
  for (let i = 0; i < n; i++) {
    const c = rng.int(classes)
    y.push(c)
    for (let j = 0; j < dim; j++) x[i * dim + j] = 0.5 * rng.normal() + (j === c ? 2 : 0)
  }
  return { x, y }
}

function assertClose (actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`)
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i])
    assert.ok(err <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`)
  }
}

const SMALL: ModelSpec = { kind: 'mlp', sizes: [6, 16, 3] }

describe('training step graph', () => {
  it('K=4 AdamW loop lowers the loss on separable data', async () => {
    const opt: OptimizerSpec = { kind: 'adamw', weightDecay: 0.01 }
    const k = 4
    const b = 16
    const t = buildTrainingStep(SMALL, opt, k)
    assert.deepEqual(t.stateNames, ['opt_m', 'opt_v', 'opt_t'])
    assert.equal(t.innerSteps, 4)
    assert.deepEqual(t.inputs, [{ name: 'x', dtype: 'float32', shape: ['B', 6] }])
    assert.deepEqual(t.target, { name: 'y', dtype: 'int64', shape: ['B'] })
    const s = await session(t.model)
    let params = initParams(SMALL, 1)
    let state = initOptimizerState(opt, params.length)
    const rng = new Rng(11)
    const first: number[] = []
    let last: number[] = []
    for (let run = 0; run < 8; run++) {
      const { x, y } = blobs(rng, k * b, 6, 3)
      const r = await runStep(t, s, params, state, 0.01, x, y, k, b)
      assert.equal(r.losses.length, k)
      if (run === 0) first.push(...r.losses)
      last = r.losses
      params = r.params
      state = r.state
    }
    const mean = (a: number[]): number => a.reduce((p, q) => p + q, 0) / a.length
    assert.ok(mean(last) < 0.5 * mean(first), `loss ${mean(first)} → ${mean(last)}`)
    assert.equal(state[2][0], 32, 'step counter counts every inner step')
  })

  for (const opt of [{ kind: 'adamw', weightDecay: 0.1, clipNorm: 1 }, { kind: 'sgd', weightDecay: 0.1, clipNorm: 1 }] satisfies OptimizerSpec[]) {
    it(`the fused K=4 Loop equals four single-step runs (${opt.kind}, bucketed weights)`, async () => {
      // 300×256 is large enough for its own bucket inside the Loop (bucketLayout)
      const spec: ModelSpec = { kind: 'mlp', sizes: [300, 256, 3] }
      assert.equal(bucketLayout(modelLayout(spec)).length, 2)
      const b = 5
      const fused = buildTrainingStep(spec, opt, 4)
      const single = buildTrainingStep(spec, opt, 1)
      const sf = await session(fused.model)
      const ss = await session(single.model)
      const { x, y } = blobs(new Rng(5), 4 * b, 300, 3)
      const p0 = initParams(spec, 2)
      const st0 = initOptimizerState(opt, p0.length)
      const f = await runStep(fused, sf, p0, st0, 0.05, x, y, 4, b)
      let p = p0
      let st = st0
      const losses: number[] = []
      for (let i = 0; i < 4; i++) {
        const r = await runStep(single, ss, p, st, 0.05, x.slice(i * b * 300, (i + 1) * b * 300), y.slice(i * b, (i + 1) * b), 1, b)
        p = r.params
        st = r.state
        losses.push(r.losses[0])
      }
      assertClose(f.losses, losses, 1e-5, 'losses')
      assertClose(f.params, p, 1e-5, 'params')
      f.state.forEach((v, i) => assertClose(v, st[i], 1e-5, fused.stateNames[i]))
      assert.notDeepEqual(f.params, p0)
    })
  }

  for (const opt of [
    { kind: 'sgd' },
    { kind: 'sgd', momentum: 0.5, weightDecay: 0.05, clipNorm: 0.3 },
    { kind: 'sgd', momentum: 0 },
    { kind: 'adamw' },
    { kind: 'adamw', beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, clipNorm: 0.5 }
  ] satisfies OptimizerSpec[]) {
    it(`${JSON.stringify(opt)} matches a hand-computed update over 3 fused steps`, async () => {
      const spec: ModelSpec = { kind: 'mlp', sizes: [3, 4, 2] }
      const k = 3
      const b = 4
      const t = buildTrainingStep(spec, opt, k)
      const s = await session(t.model)
      const rng = new Rng(9)
      const x = Float32Array.from({ length: k * b * 3 }, () => rng.normal())
      const y = Array.from({ length: k * b }, () => rng.int(2))
      const p0 = initParams(spec, 3)
      // biases start at zero; give them values so their gradients are exercised
      for (const e of modelLayout(spec).entries) if (e.name.endsWith('bias')) for (let i = 0; i < e.size; i++) p0[e.offset + i] = 0.1 * (i - 1)
      const r = await runStep(t, s, p0, initOptimizerState(opt, p0.length), 0.1, x, y, k, b)
      const p = Array.from(p0)
      const st: RefState = { m: new Array(p.length).fill(0), v: new Array(p.length).fill(0), t: 0 }
      for (let i = 0; i < k; i++) {
        const { loss, grad } = refLossGrad(spec.sizes, p, x.slice(i * b * 3, (i + 1) * b * 3), y.slice(i * b, (i + 1) * b), b)
        assert.ok(Math.abs(loss - r.losses[i]) < 1e-5, `loss ${i}: ${r.losses[i]} vs ${loss}`)
        refUpdate(opt, p, grad, st, 0.1)
      }
      assertClose(r.params, p, 2e-5, 'params')
      if (opt.kind === 'sgd') assertClose(r.state[0], st.m, 2e-5, 'opt_m')
      if (opt.kind === 'adamw') {
        // the graph keeps the moments unnormalised: m/(1−β1), v/(1−β2)
        assertClose(r.state[0], st.m.map(x => x / (1 - (opt.beta1 ?? 0.9))), 2e-5, 'opt_m')
        assertClose(r.state[1], st.v.map(x => x / (1 - (opt.beta2 ?? 0.999))), 2e-5, 'opt_v')
        assert.equal(r.state[2][0], 3)
      }
    })
  }

  it('partial batches: the batch size comes from the data', async () => {
    const opt: OptimizerSpec = { kind: 'sgd' }
    const t = buildTrainingStep(SMALL, opt, 2)
    const s = await session(t.model)
    const p0 = initParams(SMALL, 4)
    for (const b of [7, 1]) {
      const { x, y } = blobs(new Rng(b), 2 * b, 6, 3)
      const r = await runStep(t, s, p0, initOptimizerState(opt, p0.length), 0.1, x, y, 2, b)
      assert.equal(r.params.length, p0.length)
      assert.ok(r.losses.every(Number.isFinite))
    }
  })
})
