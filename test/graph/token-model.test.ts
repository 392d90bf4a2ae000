// The token path in onnxruntime-node: int64 token inputs, [B, T, V] logits, token cross-entropy, bits per byte.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import ort from '../../src/train/ort.js'
import {
  buildEvalModel, buildTrainingStep, GraphErrorCode, initOptimizerState, initParams, LOSSES, metricValue, modelLayout, SpecError,
  type ModelSpec
} from '../../src/graph/index.js'
import { Rng } from '../../src/tensor/rng.js'
import { numbers, session } from './helpers.js'

const V = 5
const T = 4
const SPEC: ModelSpec = { kind: 'bigram', vocab: V, context: T }

/** Mean next-token cross-entropy, correct count and d loss / d table of a bigram table, in float64. */
function reference (table: Float32Array, x: number[], y: number[]): { loss: number, correct: number, grad: Float64Array } {
  const n = x.length
  let loss = 0
  let correct = 0
  const grad = new Float64Array(V * V)
  for (let i = 0; i < n; i++) {
    const row = Array.from(table.subarray(x[i] * V, x[i] * V + V))
    const max = Math.max(...row)
    const z = row.reduce((a, v) => a + Math.exp(v - max), 0)
    loss += -(row[y[i]] - max - Math.log(z)) / n
    if (row.indexOf(max) === y[i]) correct++
    for (let c = 0; c < V; c++) grad[x[i] * V + c] += (Math.exp(row[c] - max) / z - (c === y[i] ? 1 : 0)) / n
  }
  return { loss, correct, grad }
}

function windows (rng: Rng, b: number): { x: number[], y: number[] } {
  const x: number[] = []
  const y: number[] = []
  for (let i = 0; i < b; i++) {
    const seq = Array.from({ length: T + 1 }, () => rng.int(V))
    x.push(...seq.slice(0, T))
    y.push(...seq.slice(1))
  }
  return { x, y }
}

const i64 = (v: number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), dims)

describe('bigram model and token cross-entropy', () => {
  it('declares int64 token windows in and next tokens as target', () => {
    const t = buildTrainingStep(SPEC, { kind: 'sgd' }, 1)
    assert.deepEqual(t.inputs, [{ name: 'tokens', dtype: 'int64', shape: ['B', T] }])
    assert.deepEqual(t.target, { name: 'y', dtype: 'int64', shape: ['B', T] })
    assert.equal(LOSSES.token_cross_entropy.targetRank, 2)
    assert.deepEqual(modelLayout(SPEC).entries.map(e => [e.name, e.shape]), [['table', [V, V]]])
  })

  it('eval model: mean loss over every token, correct count, bits per byte', async () => {
    const ev = buildEvalModel(SPEC)
    assert.deepEqual(ev.metrics, ['bits_per_byte', 'accuracy'])
    const s = await session(ev.model)
    const p = initParams(SPEC, 2).map((v, i) => v + Math.sin(i))
    const b = 3
    const { x, y } = windows(new Rng(4), b)
    const out = await s.run({ params: new ort.Tensor('float32', p, [p.length]), tokens: i64(x, [b, T]), y: i64(y, [b, T]) })
    const want = reference(p, x, y)
    assert.ok(Math.abs(numbers(out.loss)[0] - want.loss) < 1e-5)
    assert.equal(numbers(out.correct)[0], want.correct)
    const units = b * T
    const bpb = metricValue('bits_per_byte', { lossSum: want.loss * units, units, correct: want.correct })
    assert.ok(Math.abs(bpb - want.loss / Math.LN2) < 1e-12)
  })

  it('one SGD step moves the table by exactly −lr · gradient (Gather scatter-adds repeated tokens)', async () => {
    const t = buildTrainingStep(SPEC, { kind: 'sgd', momentum: 0 }, 1)
    const s = await session(t.model)
    const p = initParams(SPEC, 3)
    const b = 6
    const { x, y } = windows(new Rng(5), b)
    const lr = 0.5
    const feeds: Record<string, ort.Tensor> = {
      params: new ort.Tensor('float32', p, [p.length]),
      lr: new ort.Tensor('float32', new Float32Array([lr]), []),
      tokens: i64(x, [1, b, T]),
      y: i64(y, [1, b, T])
    }
    initOptimizerState({ kind: 'sgd', momentum: 0 }, p.length).forEach((v, i) => { feeds[t.stateNames[i]] = new ort.Tensor('float32', v, [v.length]) })
    const out = await s.run(feeds)
    const want = reference(p, x, y)
    assert.ok(Math.abs(numbers(out.losses)[0] - want.loss) < 1e-5)
    const after = numbers(out.params_out)
    after.forEach((v, i) => assert.ok(Math.abs(v - (p[i] - lr * want.grad[i])) < 1e-5, `table[${i}]`))
  })

  it('a fused K=4 AdamW loop learns a deterministic successor rule', async () => {
    const k = 4
    const b = 8
    const opt = { kind: 'adamw' } as const
    const t = buildTrainingStep(SPEC, opt, k)
    const s = await session(t.model)
    let params = initParams(SPEC, 1)
    let state = initOptimizerState(opt, params.length)
    const rng = new Rng(8)
    let first = NaN
    let last = NaN
    for (let run = 0; run < 10; run++) {
      const x: number[] = []
      const y: number[] = []
      for (let w = 0; w < k * b; w++) {
        const s0 = rng.int(V)
        for (let j = 0; j < T; j++) { x.push((s0 + j) % V); y.push((s0 + j + 1) % V) }
      }
      const feeds: Record<string, ort.Tensor> = {
        params: new ort.Tensor('float32', params, [params.length]),
        lr: new ort.Tensor('float32', new Float32Array([0.1]), []),
        tokens: i64(x, [k, b, T]),
        y: i64(y, [k, b, T])
      }
      t.stateNames.forEach((n, i) => { feeds[n] = new ort.Tensor('float32', state[i], [state[i].length]) })
      const out = await s.run(feeds)
      const losses = numbers(out.losses)
      if (run === 0) first = losses[0]
      last = losses[k - 1]
      params = out.params_out.data as Float32Array
      state = t.stateNames.map(n => out[`${n}_out`].data as Float32Array)
    }
    assert.ok(Math.abs(first - Math.log(V)) < 0.1, `starts near ln V: ${first}`)
    assert.ok(last < 0.1 * first, `loss ${first} → ${last}`)
  })

  it('bad bigram specs raise SpecError', () => {
    for (const spec of [{ kind: 'bigram', vocab: 1, context: 4 }, { kind: 'bigram', vocab: 8, context: 0 }] as ModelSpec[]) {
      assert.throws(() => modelLayout(spec), (e: unknown) => e instanceof SpecError && e.code === GraphErrorCode.SPEC)
    }
  })
})
