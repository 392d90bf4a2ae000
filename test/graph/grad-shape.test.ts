// Finite-difference checks (float64, ORT CPU) for data-movement gradient rules.
import { describe, it } from 'node:test'
import * as op from '../../src/graph/ops/index.js'
import { checkGradients } from './helpers.js'

describe('data movement gradient rules', () => {
  it('Reshape (static and with -1)', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 6] }], build: x => op.tanh(op.reshape(x.a, [3, -1])) })
  })
  it('Reshape with a symbolic batch', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 2, 2], declared: ['B', 2, 2] }], build: x => op.reshape(x.a, [0, 4]) })
  })
  it('Flatten, Unsqueeze, Squeeze', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 2] }], build: x => op.flatten(x.a, 1) })
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3] }], build: x => op.squeeze(op.unsqueeze(x.a, [0, 2]), [0]) })
  })
  it('Transpose', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: x => op.transpose(x.a, [2, 0, 1]) })
  })
  it('Expand', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 1] }], build: x => op.expand(x.a, [2, 3, 4]) })
  })
  it('Concat (static sizes)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }, { name: 'c', shape: [2, 2] }],
      build: x => op.concat([x.a, x.b, x.c], 1)
    })
  })
  it('Concat (sizes known only at run time)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [3, 2], declared: [null, 2] }, { name: 'b', shape: [2, 2], declared: ['N', 2] }],
      build: x => op.concat([x.a, x.b], 0)
    })
  })
  it('Split with an unused piece (zero-filled gradient)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [7, 2] }],
      build: x => {
        const [p, , r] = op.split(x.a, [3, 2, 2], 0)
        return op.mul(p.shape === undefined ? p : op.slice(p, [0], [2], [0]), r)
      }
    })
  })
  it('Split along the last axis, all pieces used', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [2, 5] }],
      build: x => {
        const [p, q] = op.split(x.a, [2, 3], 1)
        return op.concat([op.tanh(q), op.exp(p)], 1)
      }
    })
  })
  it('Slice with unit steps (gradient by Pad)', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [4, 5] }], build: x => op.slice(x.a, [1, -4], [3, 1000], [0, 1]) })
  })
  it('Slice with a negative step (gradient by scatter)', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 6] }], build: x => op.slice(x.a, [-1, 5], [-4, 0], [0, 1], [-1, -2]) })
  })
  it('Slice of a tensor with a symbolic dim (gradient by scatter)', async () => {
    await checkGradients({ inputs: [{ name: 'a', shape: [3, 4], declared: ['B', 4] }], build: x => op.slice(x.a, [1], [3], [1]) })
  })
  it('Gather on axis 0 with repeated and negative indices', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [4, 3] }, { name: 'i', shape: [2, 3], dtype: 'int64', data: [0, 2, 0, -1, 2, 2] }],
      build: x => op.gather(x.a, x.i, 0)
    })
  })
  it('Gather on an inner axis', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [2, 4, 3] }, { name: 'i', shape: [3], dtype: 'int64', data: [3, 1, 3] }],
      build: x => op.gather(x.a, x.i, 1)
    })
  })
  it('Gather with a scalar index (as the Loop body picks its batch)', async () => {
    await checkGradients({
      inputs: [{ name: 'a', shape: [3, 2, 2] }, { name: 'i', shape: [], dtype: 'int64', data: [1] }],
      build: x => op.gather(x.a, x.i, 0)
    })
  })
})
