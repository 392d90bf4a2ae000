// Finite-difference checks (float64, ORT CPU) for elementwise and activation gradient rules.
import { describe, it } from 'node:test'
import * as op from '../../src/graph/ops/index.js'
import { checkGradients } from './helpers.js'

/** values away from 0 and from each other: kinks and poles stay out of the h-neighbourhood */
function spread (n: number, lo = 0.3, hi = 2): number[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : -1) * (lo + (hi - lo) * ((i * 7) % n) / n))
}
function positive (n: number, lo = 0.5, hi = 2): number[] {
  return Array.from({ length: n }, (_, i) => lo + (hi - lo) * ((i * 5) % n) / n)
}

describe('elementwise gradient rules', () => {
  it('Add with broadcasting [2,3] + [3]', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }], build: x => op.add(x.a, x.b) })
  })
  it('Add with two-sided broadcasting [2,1,3] + [4,1]', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [4, 1] }], build: x => op.add(x.a, x.b) })
  })
  it('Add with a symbolic batch: bias reduced statically', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [4, 3], declared: ['B', 3] }, { name: 'b', shape: [3] }],
      build: x => op.add(x.a, x.b)
    })
  })
  it('Mul with unknown dims: reduction axes found at run time', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [4, 3], declared: [null, null] }, { name: 'b', shape: [4, 1], declared: [null, null] }],
      build: x => op.mul(x.a, x.b)
    })
  })
  it('Mul with unknown dims and rank broadcasting', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [2, 4, 3], declared: ['K', null, null] }, { name: 'b', shape: [1, 3], declared: [null, null] }],
      build: x => op.mul(x.a, x.b)
    })
  })
  it('Sub', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 2] }, { name: 'b', shape: [3, 1] }], build: x => op.sub(x.a, x.b) })
  })
  it('Mul', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 3] }], build: x => op.mul(x.a, x.b) })
  })
  it('Div', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3], data: spread(3, 0.5, 2) }], build: x => op.div(x.a, x.b) })
  })
  it('Pow (base and exponent)', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3], data: positive(6) }, { name: 'b', shape: [3], data: [0.5, 2, -1.5] }], build: x => op.pow(x.a, x.b) })
  })
  it('Pow by a constant', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [5] }], build: x => op.pow(x.a, 3) })
  })
  it('Neg', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }], build: x => op.neg(x.a) })
  })
  it('Sqrt', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [5], data: positive(5) }], build: x => op.sqrt(x.a) })
  })
  it('Exp', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }], build: x => op.exp(x.a) })
  })
  it('Log', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [5], data: positive(5) }], build: x => op.log(x.a) })
  })
  it('Erf (ORT has no float64 Erf: computed in float32 between casts, looser tolerance)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [6] }],
      build: x => op.cast(op.erf(op.cast(x.a, 'float32')), 'float64'),
      h: 1e-2,
      tol: 2e-3
    })
  })
  it('Abs', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [6], data: spread(6) }], build: x => op.abs(x.a) })
  })
  it('Relu', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 4], data: spread(8) }], build: x => op.relu(x.a) })
  })
  it('Tanh', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }], build: x => op.tanh(x.a) })
  })
  it('Sigmoid', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }], build: x => op.sigmoid(x.a) })
  })
  it('Softmax (last axis and axis 0)', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 4] }], build: x => op.softmax(x.a, -1) })
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 2] }], build: x => op.softmax(x.a, 0) })
  })
  it('LogSoftmax', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 4] }], build: x => op.logSoftmax(x.a, 1) })
  })
  it('Where (condition from a comparison)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }, { name: 'c', shape: [2, 3], diff: false }],
      build: x => op.where(op.greater(x.c, op.scalarLike(x.c, 0)), x.a, x.b)
    })
  })
  it('Identity and float Cast', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3] }], build: x => op.cast(op.identity(op.mul(x.a, x.a)), 'float64') })
  })
  it('a value used twice accumulates both contributions', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3] }], build: x => op.mul(op.tanh(x.a), op.exp(x.a)) })
  })
})
