// Byte-level GPT: learned positions, pre-LN blocks with causal multi-head attention and a GELU MLP,
// a final LayerNorm and an output head tied to the token embedding (GPT-2's shape, nanoGPT's init).
import type { Value } from '../builder.js'
import { SpecError } from '../errors.js'
import { add, cast, constTensor, erf, gather, gemm, layerNorm, matmul, mul, reshape, softmax, split, transpose } from '../ops/index.js'
import { IO } from '../spec.js'
import { tensor } from '../types.js'
import { createLayout, type ParamLayout } from '../../tensor/layout.js'
import type { Rng } from '../../tensor/rng.js'
import type { ModelDef } from './model.js'

export interface GptSpec {
  kind: 'gpt'
  /** token ids in [0, vocab); 256 for bytes */
  vocab: number
  /** tokens per window: also the number of learned positions */
  context: number
  layers: number
  heads: number
  /** model width; a multiple of heads */
  width: number
}

/** The default recipe's shape: 4 layers × 4 heads × 128 wide, context 128, bytes. */
export const DEFAULT_GPT = { vocab: 256, context: 128, layers: 4, heads: 4, width: 128 } as const

const LN_EPS = 1e-5

export function validateGpt (s: GptSpec): void {
  for (const k of ['vocab', 'context', 'layers', 'heads', 'width'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) throw new SpecError(`gpt ${k} must be a positive integer, got ${s[k]}`)
  }
  if (s.vocab < 2) throw new SpecError(`gpt vocab must be ≥ 2, got ${s.vocab}`)
  if (s.width % s.heads !== 0) throw new SpecError(`gpt width ${s.width} is not a multiple of heads ${s.heads}`)
}

/**
 * `wte` [V, D] (also the output head), `wpe` [T, D], then per block `h{i}.ln1.{scale,bias}`,
 * `h{i}.attn.qkv.{weight [D, 3D], bias}`, `h{i}.attn.proj.{weight [D, D], bias}`,
 * `h{i}.ln2.{scale,bias}`, `h{i}.mlp.fc.{weight [D, 4D], bias}`, `h{i}.mlp.proj.{weight [4D, D], bias}`,
 * and `lnf.{scale,bias}`. Weights are [in, out] so a layer is one Gemm.
 */
export function gptLayout (s: GptSpec): ParamLayout {
  validateGpt(s)
  const d = s.width
  const t: Array<{ name: string, shape: number[] }> = [{ name: 'wte', shape: [s.vocab, d] }, { name: 'wpe', shape: [s.context, d] }]
  for (let i = 0; i < s.layers; i++) {
    t.push(
      { name: `h${i}.ln1.scale`, shape: [d] }, { name: `h${i}.ln1.bias`, shape: [d] },
      { name: `h${i}.attn.qkv.weight`, shape: [d, 3 * d] }, { name: `h${i}.attn.qkv.bias`, shape: [3 * d] },
      { name: `h${i}.attn.proj.weight`, shape: [d, d] }, { name: `h${i}.attn.proj.bias`, shape: [d] },
      { name: `h${i}.ln2.scale`, shape: [d] }, { name: `h${i}.ln2.bias`, shape: [d] },
      { name: `h${i}.mlp.fc.weight`, shape: [d, 4 * d] }, { name: `h${i}.mlp.fc.bias`, shape: [4 * d] },
      { name: `h${i}.mlp.proj.weight`, shape: [4 * d, d] }, { name: `h${i}.mlp.proj.bias`, shape: [d] }
    )
  }
  t.push({ name: 'lnf.scale', shape: [d] }, { name: 'lnf.bias', shape: [d] })
  return createLayout(t)
}

/** Weight decay applies to matrices and embeddings, never to norms and biases (GPT-2 / nanoGPT practice). */
export function gptDecays (name: string): boolean {
  return name === 'wte' || name === 'wpe' || name.endsWith('.weight')
}

/** N(0, 0.02) for weights and embeddings, residual projections scaled by 1/√(2·layers), zero biases, unit norm scales. */
export function initGpt (s: GptSpec, rng: Rng): Float32Array {
  const layout = gptLayout(s)
  const flat = new Float32Array(layout.total)
  const residual = 0.02 / Math.sqrt(2 * s.layers)
  for (const e of layout.entries) {
    const v = flat.subarray(e.offset, e.offset + e.size)
    if (e.name.endsWith('.scale')) v.fill(1)
    else if (e.name.endsWith('.bias')) v.fill(0)
    else {
      const std = e.name.endsWith('proj.weight') ? residual : 0.02
      for (let k = 0; k < v.length; k++) v[k] = std * rng.normal()
    }
  }
  return flat
}

/** LayerNorm over the last axis: one ONNX LayerNormalization node (opset 17), one fused kernel in ORT. */
function norm (x: Value, scale: Value, bias: Value): Value {
  return layerNorm(x, scale, bias, { axis: -1, epsilon: LN_EPS })
}

/** GELU, exact form: x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
function gelu (x: Value): Value {
  const z = mul(x, Math.SQRT1_2)
  // ORT has no float64 Erf; float64 graphs exist only for gradient checks, which take erf in float32
  const e = x.dtype === 'float64' ? cast(erf(cast(z, 'float32')), 'float64') : erf(z)
  return mul(mul(x, 0.5), add(e, 1))
}

/** x [B·T, in] · W [in, out] + b as one Gemm: its weight gradient is one Gemm too. */
function dense (x2: Value, w: Value, b: Value): Value {
  return gemm(x2, w, b)
}

/** 0 on and below the diagonal, −1e9 above: added to the attention scores before Softmax. */
function causalMask (where: Value, t: number): Value {
  const m = new Float32Array(t * t)
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = -1e9
  return constTensor(where, tensor(where.dtype, [t, t], m))
}

export function gptForward (s: GptSpec, p: Readonly<Record<string, Value>>, tokens: Value): Value {
  const { context: t, width: d, heads: h } = s
  const hd = d / h
  // [B, T, D] embeddings; the residual stream is kept as [B·T, D] so every layer is a Gemm
  let x = reshape(add(gather(p.wte, tokens, 0), p.wpe), [-1, d])
  const mask = causalMask(x, t)
  const toHeads = (v: Value): Value => transpose(reshape(v, [-1, t, h, hd]), [0, 2, 1, 3]) // [B, H, T, hd]
  for (let i = 0; i < s.layers; i++) {
    const a = norm(x, p[`h${i}.ln1.scale`], p[`h${i}.ln1.bias`])
    const [q, k, v] = split(dense(a, p[`h${i}.attn.qkv.weight`], p[`h${i}.attn.qkv.bias`]), [d, d, d], 1)
    const scores = add(mul(matmul(toHeads(q), transpose(reshape(k, [-1, t, h, hd]), [0, 2, 3, 1])), 1 / Math.sqrt(hd)), mask)
    const y = matmul(softmax(scores, -1), toHeads(v)) // [B, H, T, hd]
    const merged = reshape(transpose(y, [0, 2, 1, 3]), [-1, d])
    x = add(x, dense(merged, p[`h${i}.attn.proj.weight`], p[`h${i}.attn.proj.bias`]))
    const m = norm(x, p[`h${i}.ln2.scale`], p[`h${i}.ln2.bias`])
    const f = gelu(dense(m, p[`h${i}.mlp.fc.weight`], p[`h${i}.mlp.fc.bias`]))
    x = add(x, dense(f, p[`h${i}.mlp.proj.weight`], p[`h${i}.mlp.proj.bias`]))
  }
  const out = norm(x, p['lnf.scale'], p['lnf.bias'])
  // tied head: logits = x · wteᵀ, read transposed by Gemm
  return reshape(gemm(out, p.wte, null, { transB: true }), [-1, t, s.vocab])
}

export const gpt: ModelDef<GptSpec> = {
  inputs: s => [{ name: IO.tokens, dtype: 'int64', shape: ['B', s.context] }],
  target: s => ({ name: IO.y, dtype: 'int64', shape: ['B', s.context] }),
  loss: 'token_cross_entropy',
  metrics: ['bits_per_byte', 'accuracy'],
  layout: gptLayout,
  init: initGpt,
  forward: (s, p, inputs) => gptForward(s, p, inputs[IO.tokens]),
  validate: validateGpt,
  decays: gptDecays
}
