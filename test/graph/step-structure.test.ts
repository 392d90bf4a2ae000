// Structural guards on the hot path of the fused MNIST step: the ops a benchmark regression would come from.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTrainingStep, decodeModel } from '../../src/graph/index.js'

type NodeProto = { opType?: string | null, input?: string[] | null, output?: string[] | null, attribute?: Array<{ name?: string | null, g?: { node?: NodeProto[] | null } | null }> | null }

function loopBody (model: Uint8Array): NodeProto[] {
  const loop = decodeModel(model).graph!.node!.find(n => n.opType === 'Loop') as NodeProto | undefined
  assert.ok(loop !== undefined, 'a fused step has a Loop')
  return loop.attribute!.find(a => a.name === 'body')!.g!.node!
}

function histogram (nodes: NodeProto[]): Map<string, number> {
  const h = new Map<string, number>()
  for (const n of nodes) h.set(n.opType!, (h.get(n.opType!) ?? 0) + 1)
  return h
}

describe('fused 784-256-10 AdamW step structure', () => {
  const t = buildTrainingStep({ kind: 'mlp', sizes: [784, 256, 10] }, { kind: 'adamw' }, 16)
  const body = loopBody(t.model)
  const h = histogram(body)

  it('five Gemms: two forward, three backward (no input gradient for the first layer)', () => {
    assert.equal(h.get('Gemm'), 5)
    assert.equal(h.get('MatMul') ?? 0, 2) // ones·g bias gradients
  })

  it('transposes folded into Gemm flags, no slow ReduceSum over the batch', () => {
    assert.equal(h.get('Transpose') ?? 0, 0)
    assert.equal(h.get('ReduceSum') ?? 0, 0)
  })

  it('the large weight is not split out of or concatenated back into a vector every step', () => {
    // one Split/Concat pair for the small bucket (layer0.bias, layer1.*) only
    assert.equal(h.get('Split'), 1)
    assert.equal(h.get('Concat') ?? 0, 1 + 1) // + the dynamic [1, B] shape of the ones row
    const split = body.find(n => n.opType === 'Split')!
    assert.equal(split.output!.length, 3)
  })

  it('AdamW: one Sqrt and one Div per bucket over the vectors', () => {
    // + one scalar Sqrt for the bias correction
    assert.equal(h.get('Sqrt'), 2 + 1)
  })
})
