// LayerNormalization, Trilu and Constant: forward against plain-TS references, gradients against central differences (float64, ORT CPU).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { GraphBuilder } from '../../src/graph/builder.js'
import { serializeModel } from '../../src/graph/serialize.js'
import * as op from '../../src/graph/ops/index.js'
import { attr, tensor } from '../../src/graph/types.js'
import { Rng } from '../../src/tensor/rng.js'
import { checkGradients, f32, f64, numbers, session } from './helpers.js'

function normals (n: number, seed: number): number[] {
  const rng = new Rng(seed)
  return Array.from({ length: n }, () => rng.normal())
}

function close (got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`)
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol * (1 + Math.abs(want[i])), `${what}[${i}]: ${v} vs ${want[i]}`))
}

/** LayerNormalization over the axes from `axis` on; scale/bias of the normalised size */
function refLayerNorm (x: number[], shape: number[], axis: number, scale: number[], bias: number[] | undefined, eps: number): number[] {
  const a = axis < 0 ? axis + shape.length : axis
  const n = shape.slice(a).reduce((p, d) => p * d, 1)
  const out = new Array<number>(x.length)
  for (let r = 0; r < x.length / n; r++) {
    const row = x.slice(r * n, (r + 1) * n)
    const mu = row.reduce((s, v) => s + v, 0) / n
    const v = row.reduce((s, e) => s + (e - mu) ** 2, 0) / n
    const rstd = 1 / Math.sqrt(v + eps)
    row.forEach((e, j) => { out[r * n + j] = (e - mu) * rstd * scale[j] + (bias?.[j] ?? 0) })
  }
  return out
}

/** Trilu over the last two axes of [..., R, C] */
function refTrilu (x: number[], shape: number[], upper: boolean, k: number): number[] {
  const [rows, cols] = shape.slice(-2)
  return x.map((v, i) => {
    const r = Math.floor(i / cols) % rows
    const c = i % cols
    return (upper ? c - r >= k : c - r <= k) ? v : 0
  })
}

describe('LayerNormalization', () => {
  const cases: Array<{ what: string, shape: number[], axis: number, bias: boolean, eps: number }> = [
    { what: 'axis -1 on [2, 3, 8] with bias', shape: [2, 3, 8], axis: -1, bias: true, eps: 1e-5 },
    { what: 'axis 1 on [2, 3, 8] with bias', shape: [2, 3, 8], axis: 1, bias: true, eps: 1e-5 },
    { what: 'axis -1 on [4, 5] without bias, epsilon 0.1', shape: [4, 5], axis: -1, bias: false, eps: 0.1 }
  ]
  for (const c of cases) {
    it(`forward matches the reference: ${c.what}`, async () => {
      const a = c.axis < 0 ? c.axis + c.shape.length : c.axis
      const norm = c.shape.slice(a)
      const n = norm.reduce((p, d) => p * d, 1)
      const x = normals(c.shape.reduce((p, d) => p * d, 1), 1).map(v => 3 * v + 1)
      const s = normals(n, 2)
      const b = c.bias ? normals(n, 3) : undefined
      const g = new GraphBuilder('ln')
      const xv = g.input('x', 'float64', c.shape)
      const sv = g.input('s', 'float64', norm)
      const bv = c.bias ? g.input('b', 'float64', norm) : undefined
      g.output(op.layerNorm(xv, sv, bv, { axis: c.axis, epsilon: c.eps }), 'y')
      const feeds = { x: f64(c.shape, x), s: f64(norm, s), ...(b === undefined ? {} : { b: f64(norm, b) }) }
      const out = await (await session(serializeModel(g))).run(feeds)
      assert.deepEqual([...out.y.dims], c.shape)
      close(numbers(out.y), refLayerNorm(x, c.shape, c.axis, s, b, c.eps), 1e-9, 'y')
    })
  }

  it('gradients for X, Scale, B: axis -1 on [2, 3, 8]', async () => {
    await checkGradients({
      inputs: [{ name: 'x', shape: [2, 3, 8] }, { name: 's', shape: [8] }, { name: 'b', shape: [8] }],
      build: x => op.layerNorm(x.x, x.s, x.b)
    })
  })
  it('gradients for X, Scale, B: axis 1 on [2, 3, 8] (Scale and B [3, 8])', async () => {
    await checkGradients({
      inputs: [{ name: 'x', shape: [2, 3, 8] }, { name: 's', shape: [3, 8] }, { name: 'b', shape: [3, 8] }],
      build: x => op.layerNorm(x.x, x.s, x.b, { axis: 1 })
    })
  })
  it('gradients with a symbolic batch and no bias', async () => {
    await checkGradients({
      inputs: [{ name: 'x', shape: [3, 2, 4], declared: ['B', 2, 4] }, { name: 's', shape: [4] }],
      build: x => op.layerNorm(x.x, x.s, undefined, { epsilon: 1e-3 })
    })
  })
  it('gradient for Scale and B only (X not differentiated)', async () => {
    await checkGradients({
      inputs: [{ name: 'x', shape: [3, 6], diff: false }, { name: 's', shape: [6] }, { name: 'b', shape: [6] }],
      build: x => op.tanh(op.layerNorm(x.x, x.s, x.b))
    })
  })
})

describe('Trilu', () => {
  const shape = [2, 3, 4]
  const x = Array.from({ length: 24 }, (_, i) => i + 1)
  for (const upper of [false, true]) {
    for (const k of [0, 1, -1]) {
      it(`forward ${upper ? 'upper' : 'lower'} with k = ${k}`, async () => {
        const g = new GraphBuilder('trilu')
        g.output(op.trilu(g.input('x', 'float64', shape), { upper, k }), 'y')
        const out = await (await session(serializeModel(g))).run({ x: f64(shape, x) })
        assert.deepEqual(numbers(out.y), refTrilu(x, shape, upper, k))
      })
    }
  }
  it('forward without k keeps the upper triangle including the diagonal', async () => {
    const g = new GraphBuilder('trilu')
    g.output(op.trilu(g.input('x', 'float64', [3, 3])), 'y')
    const out = await (await session(serializeModel(g))).run({ x: f64([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]) })
    assert.deepEqual(numbers(out.y), [1, 2, 3, 0, 5, 6, 0, 0, 9])
  })
  it('gradient: lower, k = 0', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: x => op.trilu(x.a, { upper: false, k: 0 }) })
  })
  it('gradient: upper, k = 1, through tanh', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [4, 3] }], build: x => op.tanh(op.trilu(x.a, { k: 1 })) })
  })
  it('gradient with k as a graph input', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [3, 3] }, { name: 'k', shape: [], dtype: 'int64', data: [-1] }],
      build: x => op.mul(op.trilu(x.a, { upper: false, k: x.k }), x.a)
    })
  })
})

describe('Constant', () => {
  it('forward value of a tensor attribute', async () => {
    const g = new GraphBuilder('const')
    const c = op.constant(g, { value: attr.tensor(tensor('float64', [2, 3], [1.5, -2, 3, 0.25, 5, -6])) })
    assert.equal(c.producer?.opType, 'Constant')
    assert.deepEqual(c.shape, [2, 3])
    g.output(c, 'c')
    const out = await (await session(serializeModel(g))).run({})
    assert.deepEqual([...out.c.dims], [2, 3])
    assert.deepEqual(numbers(out.c), [1.5, -2, 3, 0.25, 5, -6])
  })
  it('shorthand attributes value_floats and value_int', async () => {
    const g = new GraphBuilder('const')
    const x = g.input('x', 'float32', [3])
    g.output(op.mul(x, op.constant(g, { value_floats: attr.floats([2, 3, 4]) })), 'y')
    const n = op.constant(g, { value_int: attr.int(7) })
    assert.equal(n.dtype, 'int64')
    assert.deepEqual(n.shape, [])
    g.output(n, 'n')
    const out = await (await session(serializeModel(g))).run({ x: f32([3], [1, 2, 3]) })
    assert.deepEqual(numbers(out.y), [2, 6, 12])
    assert.deepEqual(numbers(out.n), [7])
  })
  it('is in the op table with output inference and no gradient rule', () => {
    const def = op.OP_TABLE.get('Constant')!
    assert.deepEqual(def.infer([], { value_ints: attr.ints([1, 2]) }), [{ dtype: 'int64', shape: [2] }])
    assert.equal(def.grad, undefined)
    assert.throws(() => def.infer([], {}))
  })
  it('a Constant operand on the loss path needs no rule of its own', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [2, 2] }],
      build: (x, g) => op.mul(x.a, op.constant(g, { value: attr.tensor(tensor('float64', [2, 2], [1, -2, 3, 0.5])) }))
    })
  })
})
