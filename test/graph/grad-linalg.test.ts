// Finite-difference checks (float64, ORT CPU) for MatMul, Gemm and reduction gradient rules.
import { describe, it } from 'node:test'
import * as op from '../../src/graph/ops/index.js'
import { checkGradients } from './helpers.js'
import { tensor } from '../../src/graph/types.js'

describe('matrix product gradient rules', () => {
  it('MatMul 2-D', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 2] }], build: x => op.matmul(x.a, x.b) })
  })
  it('MatMul 2-D with a symbolic batch', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 4], declared: ['B', 4] }, { name: 'b', shape: [4, 2] }], build: x => op.matmul(x.a, x.b) })
  })
  it('MatMul batched, weight broadcast over the batch', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4, 2] }], build: x => op.matmul(x.a, x.b) })
  })
  it('MatMul batched on both sides with broadcast batch dims', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 1, 2, 3] }, { name: 'b', shape: [3, 3, 2] }], build: x => op.matmul(x.a, x.b) })
  })
  it('MatMul with 1-D operands', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [4] }, { name: 'b', shape: [4, 3] }], build: x => op.matmul(x.a, x.b) })
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4] }], build: x => op.matmul(x.a, x.b) })
    await checkGradients({ inputs: [{ name: 'a', shape: [4] }, { name: 'b', shape: [4] }], build: x => op.matmul(x.a, x.b) })
  })
  it('Gemm with a bias vector', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 2] }, { name: 'c', shape: [2] }],
      build: x => op.gemm(x.a, x.b, x.c)
    })
  })
  for (const [transA, transB] of [[true, false], [false, true], [true, true]]) {
    it(`Gemm transA=${transA} transB=${transB}, alpha and beta ≠ 1, bias [M,1]`, async () => {
      await checkGradients({
        inputs: [
          { name: 'a', shape: transA ? [4, 3] : [3, 4] },
          { name: 'b', shape: transB ? [2, 4] : [4, 2] },
          { name: 'c', shape: [3, 1] }
        ],
        build: x => op.gemm(x.a, x.b, x.c, { alpha: 0.7, beta: 1.5, transA, transB })
      })
    })
  }
  it('Gemm with a symbolic batch and no bias', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [5, 3], declared: ['B', 3] }, { name: 'b', shape: [3, 2] }],
      build: x => op.gemm(x.a, x.b)
    })
  })
})

describe('reduction gradient rules', () => {
  it('ReduceSum over one axis, keepdims 0 and 1', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 2] }], build: x => op.reduceSum(x.a, [1], false) })
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 2] }], build: x => op.reduceSum(x.a, [-1, 0], true) })
  })
  it('ReduceSum over all axes', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }], build: x => op.reduceSum(x.a, undefined, false) })
  })
  it('ReduceMean, static and with a symbolic batch', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 2] }], build: x => op.reduceMean(x.a, [0, 2], false) })
    await checkGradients({ inputs: [{ name: 'a', shape: [4, 3], declared: ['B', 3] }], build: x => op.reduceMean(x.a, [0], true) })
  })
  it('ReduceSumSquare', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 2] }], build: x => op.reduceSumSquare(x.a, [1], false) })
  })
  it('causal attention composed from primitives (batched MatMul, Transpose, Where mask, Softmax)', async () => {
    await checkGradients({
      inputs: [{ name: 'q', shape: [2, 3, 4] }, { name: 'k', shape: [2, 3, 4] }, { name: 'v', shape: [2, 3, 4] }],
      build: (x, g) => {
        const causal = g.constant(tensor('bool', [3, 3], [1, 0, 0, 1, 1, 0, 1, 1, 1]))
        const scores = op.mul(op.matmul(x.q, op.transpose(x.k, [0, 2, 1])), 0.5)
        return op.matmul(op.softmax(op.maskFill(op.not(causal), scores, -1e9), -1), x.v)
      }
    })
  })
  it('GELU from primitives: 0.5·x·(1 + erf(x/√2)) (erf in float32, looser tolerance)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [6] }],
      build: x => {
        const e = op.cast(op.erf(op.cast(op.mul(x.a, Math.SQRT1_2), 'float32')), 'float64')
        return op.mul(op.mul(x.a, 0.5), op.add(e, 1))
      },
      h: 1e-2,
      tol: 2e-3
    })
  })
  it('layer norm composed from primitives (ReduceMean, Sub, Mul, Sqrt, Div)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [2, 5] }, { name: 'gamma', shape: [5] }, { name: 'beta', shape: [5] }],
      build: x => {
        const mu = op.reduceMean(x.a, [-1], true)
        const d = op.sub(x.a, mu)
        const v = op.reduceMean(op.mul(d, d), [-1], true)
        return op.add(op.mul(op.div(d, op.sqrt(op.add(v, 1e-5))), x.gamma), x.beta)
      }
    })
  })
})
