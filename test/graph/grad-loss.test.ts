// Finite-difference checks (float64, ORT CPU) for softmax cross-entropy, and the missing-rule error.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { GraphBuilder } from '../../src/graph/builder.js'
import { gradients } from '../../src/graph/autodiff.js'
import { GraphErrorCode, MissingGradientError } from '../../src/graph/errors.js'
import * as op from '../../src/graph/ops/index.js'
import { checkGradients } from './helpers.js'

describe('softmax cross-entropy gradient rule', () => {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`reduction ${reduction}`, async () => {
      await checkGradients({
        inputs: [{ name: 's', shape: [4, 3] }, { name: 'y', shape: [4], dtype: 'int64', data: [2, 0, 1, 2] }],
        build: x => op.softmaxCrossEntropy(x.s, x.y, reduction).loss
      })
    })
  }
  it('symbolic batch (mean divides by the run-time count) and class count', async () => {
    await checkGradients({
      inputs: [{ name: 's', shape: [5, 4], declared: ['B', null] }, { name: 'y', shape: [5], declared: ['B'], dtype: 'int64', data: [3, 0, 1, 1, 2] }],
      build: x => op.softmaxCrossEntropy(x.s, x.y).loss
    })
  })
  it('int32 labels', async () => {
    await checkGradients({
      inputs: [{ name: 's', shape: [3, 4], declared: [3, null] }, { name: 'y', shape: [3], dtype: 'int64', data: [3, 0, 2] }],
      build: x => op.softmaxCrossEntropy(x.s, op.cast(x.y, 'int32')).loss
    })
  })
  it('scores with trailing dims [N, C, T]', async () => {
    await checkGradients({
      inputs: [{ name: 's', shape: [2, 3, 2] }, { name: 'y', shape: [2, 2], dtype: 'int64', data: [0, 2, 1, 1] }],
      build: x => op.softmaxCrossEntropy(x.s, x.y).loss
    })
  })
  it('gradient through the log-probabilities output too', async () => {
    await checkGradients({
      inputs: [{ name: 's', shape: [3, 4] }, { name: 'y', shape: [3], dtype: 'int64', data: [1, 3, 0] }],
      build: x => {
        const { loss, logProb } = op.softmaxCrossEntropy(x.s, x.y)
        return op.add(op.mul(logProb, 0.3), loss)
      }
    })
  })
  it('MLP: Gemm, Relu, Gemm, cross-entropy', async () => {
    await checkGradients({
      inputs: [
        { name: 'x', shape: [3, 4], declared: ['B', 4], diff: false },
        { name: 'w1', shape: [4, 5] }, { name: 'b1', shape: [5] },
        { name: 'w2', shape: [5, 3] }, { name: 'b2', shape: [3] },
        { name: 'y', shape: [3], declared: ['B'], dtype: 'int64', data: [0, 2, 1] }
      ],
      build: x => op.softmaxCrossEntropy(op.gemm(op.relu(op.gemm(x.x, x.w1, x.b1)), x.w2, x.b2), x.y).loss
    })
  })
})

describe('autodiff errors', () => {
  it('an op without a rule on the loss path raises MissingGradientError', () => {
    const g = new GraphBuilder()
    const x = g.input('x', 'float64', [3])
    const [f] = g.node('Floor', [x], {}, [{ dtype: 'float64', shape: [3] }])
    const loss = op.reduceSum(op.mul(f, x), undefined, false)
    assert.throws(() => gradients(loss, [x]), (e: unknown) => {
      assert.ok(e instanceof MissingGradientError)
      assert.equal(e.code, GraphErrorCode.NO_GRADIENT)
      assert.equal(e.code, 'ERR_GRAPH_NO_GRADIENT')
      assert.equal(e.opType, 'Floor')
      return true
    })
  })
  it('an op without a rule off the loss path is fine', () => {
    const g = new GraphBuilder()
    const x = g.input('x', 'float64', [3])
    const c = g.input('c', 'float64', [3])
    const [f] = g.node('Floor', [c], {}, [{ dtype: 'float64', shape: [3] }])
    const loss = op.reduceSum(op.mul(f, x), undefined, false)
    assert.equal(gradients(loss, [x]).length, 1)
  })
  it('integer-valued paths (Shape, ArgMax) carry no gradient and need no rule', () => {
    const g = new GraphBuilder()
    const x = g.input('x', 'float64', ['B', 3])
    const n = op.cast(op.reduceSum(op.argMax(x, 1), undefined, false), 'float64')
    const loss = op.mul(op.reduceSum(x, undefined, false), n)
    assert.equal(gradients(loss, [x]).length, 1)
  })
})
