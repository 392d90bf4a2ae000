// The builder and serializer: tagged attributes, opset/IR, names and scopes, Loop bodies, flat parameters.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import ort from '../../src/train/ort.js'
import {
  buildTrainingStep, decodeModel, GraphBuilder, GraphErrorCode, ops as op, serializeModel, unflatten, attr
} from '../../src/graph/index.js'
import { createLayout } from '../../src/tensor/layout.js'
import { checkGradients, f32, numbers, session } from './helpers.js'

describe('graph builder', () => {
  it('writes IR 8 and default-domain opset 18', () => {
    const g = new GraphBuilder()
    g.output(op.relu(g.input('x', 'float32', [2])), 'y')
    const m = decodeModel(serializeModel(g))
    assert.equal(Number(m.irVersion), 8)
    assert.deepEqual(m.opsetImport.map(o => [o.domain, Number(o.version)]), [['', 18]])
  })

  it('tags float attributes as FLOAT even for integral values, and ORT accepts them', async () => {
    const g = new GraphBuilder()
    const a = g.input('a', 'float32', [2, 2])
    g.output(op.gemm(a, a, null, { alpha: 2, transB: true }), 'y')
    const bytes = serializeModel(g)
    const gemm = decodeModel(bytes).graph!.node!.find(n => n.opType === 'Gemm')!
    const alpha = gemm.attribute!.find(x => x.name === 'alpha')!
    const transB = gemm.attribute!.find(x => x.name === 'transB')!
    assert.equal(alpha.type, 1) // FLOAT
    assert.equal(alpha.f, 2)
    assert.equal(transB.type, 2) // INT
    const out = await (await session(bytes)).run({ a: f32([2, 2], [1, 2, 3, 4]) })
    assert.deepEqual(numbers(out.y), [10, 22, 22, 50])
  })

  it('rejects untagged numbers at compile time and non-integers at run time', () => {
    // @ts-expect-error plain numbers are not attribute values
    const bad: Parameters<GraphBuilder['node']>[2] = { alpha: 1 }
    assert.ok(bad !== undefined)
    assert.throws(() => attr.int(1.5), (e: unknown) => (e as { code?: string }).code === GraphErrorCode.INVALID)
  })

  it('passes reduction axes as an input, not an attribute (opset 18)', () => {
    const g = new GraphBuilder()
    g.output(op.reduceMean(g.input('x', 'float32', [2, 3]), [1], false), 'y')
    const n = decodeModel(serializeModel(g)).graph!.node!.find(x => x.opType === 'ReduceMean')!
    assert.equal(n.input!.length, 2)
    assert.ok(n.attribute!.every(a => a.name !== 'axes'))
  })

  it('renames an intermediate to its output name instead of copying it', () => {
    const g = new GraphBuilder()
    const y = op.relu(g.input('x', 'float32', [2]))
    g.output(y, 'y')
    const m = decodeModel(serializeModel(g))
    assert.deepEqual(m.graph!.node!.map(n => n.opType), ['Relu'])
    assert.equal(m.graph!.node![0].output![0], 'y')
  })

  it('outputs an input through Identity, and rejects reused names', () => {
    const g = new GraphBuilder()
    const x = g.input('x', 'float32', [2])
    g.output(x, 'y')
    assert.deepEqual(decodeModel(serializeModel(g)).graph!.node!.map(n => n.opType), ['Identity'])
    assert.throws(() => g.input('x', 'float32', [1]), (e: unknown) => (e as { code?: string }).code === GraphErrorCode.SCOPE)
  })

  it('refuses a subgraph value in its parent graph', () => {
    const g = new GraphBuilder()
    const v = g.subgraph('body').input('v', 'float32', [1])
    const isScope = (e: unknown): boolean => (e as { code?: string }).code === GraphErrorCode.SCOPE
    assert.throws(() => g.output(v), isScope)
    assert.throws(() => g.node('Relu', [v], {}, [{ dtype: 'float32', shape: [1] }]), isScope)
  })

  it('serializes deterministically', () => {
    const a = buildTrainingStep({ kind: 'mlp', sizes: [4, 3, 2] }, { kind: 'adamw' }, 3).model
    const b = buildTrainingStep({ kind: 'mlp', sizes: [4, 3, 2] }, { kind: 'adamw' }, 3).model
    assert.deepEqual(a, b)
  })

  it('gives Loop body inputs explicit types', () => {
    const m = decodeModel(buildTrainingStep({ kind: 'mlp', sizes: [4, 3, 2] }, { kind: 'sgd' }, 2).model)
    const loopNode = m.graph!.node!.find(n => n.opType === 'Loop')!
    const body = loopNode.attribute!.find(a => a.name === 'body')!.g!
    assert.deepEqual(body.input!.map(i => i.type!.tensorType!.elemType), [7, 9, 1, 1]) // int64 iter, bool cond, params, opt_m
    assert.deepEqual(body.input![0].type!.tensorType!.shape!.dim, [])
  })

  it('a loop sums its iteration counter (Loop + scan output in ORT)', async () => {
    const g = new GraphBuilder()
    const acc = g.input('acc', 'float32', [1])
    const res = op.loop(g, op.int64Scalar(g, 4), [acc], b => {
      const i = op.cast(b.iter, 'float32')
      return { carried: [op.add(b.carried[0], i)], scans: [op.mul(i, 2)] }
    })
    g.output(res.carried[0], 'acc_out')
    g.output(res.scans[0], 'scan')
    const out = await (await session(serializeModel(g))).run({ acc: f32([1], [10]) })
    assert.deepEqual(numbers(out.acc_out), [16])
    assert.deepEqual(numbers(out.scan), [0, 2, 4, 6])
  })
})

describe('flat parameter vector', () => {
  const layout = createLayout([{ name: 'a', shape: [2, 2] }, { name: 'unused', shape: [3] }, { name: 'c', shape: [2] }])

  it('gradient w.r.t. the flat vector is zero-filled for unused tensors (central differences)', async () => {
    await checkGradients({
      inputs: [{ name: 'p', shape: [layout.total] }],
      build: x => {
        const t = unflatten(x.p, layout)
        return op.matmul(op.tanh(t.a), t.c)
      }
    })
  })

  it('views follow the layout order and shapes', async () => {
    const g = new GraphBuilder()
    const t = unflatten(g.input('p', 'float32', [layout.total]), layout)
    assert.deepEqual(t.a.shape, [2, 2])
    g.output(t.a, 'a')
    g.output(t.c, 'c')
    const out = await (await session(serializeModel(g))).run({ p: new ort.Tensor('float32', Float32Array.from({ length: 9 }, (_, i) => i), [9]) })
    assert.deepEqual(numbers(out.a), [0, 1, 2, 3])
    assert.deepEqual(numbers(out.c), [7, 8])
  })
})
