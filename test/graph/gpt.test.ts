// The byte-level GPT: layout and decay rules, the whole forward's gradient against central differences
// (float64, every parameter tensor), and a fused AdamW step that learns a tiny corpus.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import ort from '../../src/train/ort.js'
import { buildTrainingStep, initOptimizerState, initParams, modelLayout, SpecError, type ModelSpec } from '../../src/graph/index.js'
import { gptDecays, gptLayout, type GptSpec } from '../../src/graph/models/index.js'
import { gpt } from '../../src/graph/models/gpt.js'
import { Rng } from '../../src/tensor/rng.js'
import { checkGradients, numbers, session } from './helpers.js'

const TINY: GptSpec = { kind: 'gpt', vocab: 5, context: 3, layers: 1, heads: 2, width: 4 }

describe('gpt', () => {
  it('lays out embeddings, blocks and the final norm; decays matrices and embeddings only', () => {
    const l = gptLayout({ ...TINY, layers: 2 })
    assert.deepEqual(l.entries.slice(0, 4).map(e => [e.name, e.shape]), [['wte', [5, 4]], ['wpe', [3, 4]], ['h0.ln1.scale', [4]], ['h0.ln1.bias', [4]]])
    assert.equal(l.entries.at(-1)?.name, 'lnf.bias')
    const decayed = l.entries.filter(e => gptDecays(e.name)).map(e => e.name)
    assert.deepEqual(decayed.slice(0, 6), ['wte', 'wpe', 'h0.attn.qkv.weight', 'h0.attn.proj.weight', 'h0.mlp.fc.weight', 'h0.mlp.proj.weight'])
    assert.ok(l.entries.every(e => gptDecays(e.name) === (e.shape.length === 2)))
    assert.throws(() => modelLayout({ ...TINY, width: 5 } as ModelSpec), SpecError)
    assert.throws(() => modelLayout({ ...TINY, layers: 0 } as ModelSpec), SpecError)
  })

  it('the whole model\'s gradient, every parameter, matches central differences', async () => {
    const layout = gptLayout(TINY)
    const init = initParams(TINY, 3)
    const rng = new Rng(11)
    await checkGradients({
      inputs: [
        ...layout.entries.map(e => ({
          name: e.name.replace(/\./g, '_'),
          shape: [...e.shape],
          // the trained init plus noise: norms away from 1, biases away from 0
          data: Array.from(init.subarray(e.offset, e.offset + e.size), v => v * 10 + 0.3 * rng.normal())
        })),
        { name: 'tokens', shape: [2, TINY.context], dtype: 'int64' as const, data: [0, 3, 1, 4, 4, 2] }
      ],
      build: xs => {
        const p = Object.fromEntries(layout.entries.map(e => [e.name, xs[e.name.replace(/\./g, '_')]]))
        return gpt.forward(TINY, p, { tokens: xs.tokens })
      },
      // erf runs in float32 (ORT has none in float64): a larger step and tolerance, as the GELU test in grad-linalg
      tol: 2e-3,
      h: 1e-3
    })
  })

  it('causal: a token never sees the tokens after it', async () => {
    const t = buildTrainingStep({ ...TINY, context: 4 }, { kind: 'sgd', momentum: 0 }, 1)
    assert.ok(t.model.byteLength > 0)
    // logits at position i depend only on tokens[..i]: change the last token, earlier logits stay
    const { buildInferenceModel } = await import('../../src/graph/index.js')
    const spec: ModelSpec = { ...TINY, context: 4 }
    const s = await session(buildInferenceModel(spec, initParams(spec, 5)))
    const run = async (tokens: number[]): Promise<number[]> => numbers((await s.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, 4]) })).logits)
    const a = await run([1, 2, 3, 4])
    const b = await run([1, 2, 3, 0])
    assert.deepEqual(a.slice(0, 3 * 5), b.slice(0, 3 * 5))
    assert.notDeepEqual(a.slice(3 * 5), b.slice(3 * 5))
  })

  it('a fused K=4 AdamW loop with weight decay and clipping learns a repeating text', async () => {
    const spec: ModelSpec = { kind: 'gpt', vocab: 8, context: 8, layers: 2, heads: 2, width: 16 }
    const opt = { kind: 'adamw', beta1: 0.9, beta2: 0.95, weightDecay: 0.1, clipNorm: 1 } as const
    const k = 4
    const b = 4
    const t = buildTrainingStep(spec, opt, k)
    const s = await session(t.model)
    let params = initParams(spec, 1)
    let state = initOptimizerState(opt, params.length)
    const text = [0, 1, 2, 3, 4, 5, 6, 7]
    const rng = new Rng(3)
    let first = NaN
    let last = NaN
    for (let run = 0; run < 15; run++) {
      const x: number[] = []
      const y: number[] = []
      for (let w = 0; w < k * b; w++) {
        const o = rng.int(8)
        for (let j = 0; j < 8; j++) { x.push(text[(o + j) % 8]); y.push(text[(o + j + 1) % 8]) }
      }
      const feeds: Record<string, ort.Tensor> = {
        params: new ort.Tensor('float32', params, [params.length]),
        lr: new ort.Tensor('float32', new Float32Array([3e-2]), []),
        tokens: new ort.Tensor('int64', BigInt64Array.from(x, BigInt), [k, b, 8]),
        y: new ort.Tensor('int64', BigInt64Array.from(y, BigInt), [k, b, 8])
      }
      t.stateNames.forEach((n, i) => { feeds[n] = new ort.Tensor('float32', state[i], [state[i].length]) })
      const out = await s.run(feeds)
      const losses = numbers(out.losses)
      if (run === 0) first = losses[0]
      last = losses[k - 1]
      params = out.params_out.data as Float32Array
      state = t.stateNames.map(n => out[`${n}_out`].data as Float32Array)
    }
    assert.ok(Math.abs(first - Math.log(8)) < 0.3, `starts near ln 8: ${first}`)
    assert.ok(last < 0.2 * first, `loss ${first} → ${last}`)
  })
})
