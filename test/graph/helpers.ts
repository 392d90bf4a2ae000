// Test helpers: run built graphs in onnxruntime-node and check gradients against central differences.
import assert from 'node:assert/strict'
import ort from '../../src/train/ort.js'
import { GraphBuilder, type Value } from '../../src/graph/builder.js'
import { gradients } from '../../src/graph/autodiff.js'
import { serializeModel } from '../../src/graph/serialize.js'
import { mul, reduceSum } from '../../src/graph/ops/index.js'
import { tensor, type Dim } from '../../src/graph/types.js'
import { Rng } from '../../src/tensor/rng.js'

export type Feeds = Record<string, ort.Tensor>

/** One thread: the machine is shared, and single-threaded runs are deterministic. */
export async function session (bytes: Uint8Array): Promise<ort.InferenceSession> {
  return await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 })
}

export function f64 (shape: number[], data: ArrayLike<number>): ort.Tensor {
  return new ort.Tensor('float64', Float64Array.from(data), shape)
}

export function f32 (shape: number[], data: ArrayLike<number>): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(data), shape)
}

export function i64 (shape: number[], data: ArrayLike<number>): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(data), v => BigInt(v)), shape)
}

export function numbers (t: ort.Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number)
}

export interface GradInput {
  name: string
  shape: number[]
  /** shape as declared in the graph (symbols/null exercise the run-time paths); default shape */
  declared?: Dim[]
  /** default: normal(0,1) samples */
  data?: number[]
  dtype?: 'float64' | 'int64'
  /** differentiate w.r.t. it; default true for float64 */
  diff?: boolean
}

export interface GradCase {
  inputs: GradInput[]
  build: (xs: Record<string, Value>, g: GraphBuilder) => Value
  /** absolute + relative tolerance; default 1e-6 */
  tol?: number
  /** difference step; default 1e-6 */
  h?: number
  seed?: number
}

function buildGraph (c: GradCase, weights: Float64Array | undefined, outShape: number[] | undefined): { g: GraphBuilder, wrt: GradInput[] } {
  const g = new GraphBuilder('gradcheck')
  const xs: Record<string, Value> = {}
  for (const inp of c.inputs) xs[inp.name] = g.input(inp.name, inp.dtype ?? 'float64', inp.declared ?? inp.shape)
  const out = c.build(xs, g)
  const wrt = c.inputs.filter(i => (i.dtype ?? 'float64') === 'float64' && i.diff !== false)
  if (weights === undefined) {
    g.output(out, 'out')
    return { g, wrt }
  }
  // a random projection makes the scalar loss sensitive to every output element separately
  const r = g.constant(tensor('float64', outShape!, weights))
  const loss = reduceSum(mul(out, r), undefined, false)
  g.output(loss, 'loss')
  const grads = gradients(loss, wrt.map(i => xs[i.name]))
  grads.forEach((d, i) => g.output(d, `grad_${wrt[i].name}`))
  return { g, wrt }
}

/** Checks d(sum(R ⊙ f(x)))/dx from the gradient graph against central differences, in ORT. */
export async function checkGradients (c: GradCase): Promise<void> {
  const rng = new Rng(c.seed ?? 7)
  const data: Record<string, number[]> = {}
  for (const inp of c.inputs) {
    data[inp.name] = inp.data ?? Array.from({ length: inp.shape.reduce((a, b) => a * b, 1) }, () => rng.normal())
  }
  const feeds = (over?: { name: string, i: number, d: number }): Feeds => {
    const f: Feeds = {}
    for (const inp of c.inputs) {
      const v = [...data[inp.name]]
      if (over !== undefined && over.name === inp.name) v[over.i] += over.d
      f[inp.name] = inp.dtype === 'int64' ? i64(inp.shape, v) : f64(inp.shape, v)
    }
    return f
  }
  const probe = await session(serializeModel(buildGraph(c, undefined, undefined).g))
  const outShape = [...(await probe.run(feeds())).out.dims]
  const weights = Float64Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => rng.normal())
  const { g, wrt } = buildGraph(c, weights, outShape)
  const s = await session(serializeModel(g))
  const base = await s.run(feeds())
  const tol = c.tol ?? 1e-6
  const h = c.h ?? 1e-6
  for (const w of wrt) {
    const analytic = numbers(base[`grad_${w.name}`])
    assert.equal(analytic.length, data[w.name].length, `gradient of ${w.name} has the wrong size`)
    for (let i = 0; i < analytic.length; i++) {
      const up = numbers((await s.run(feeds({ name: w.name, i, d: h }))).loss)[0]
      const down = numbers((await s.run(feeds({ name: w.name, i, d: -h }))).loss)[0]
      const numeric = (up - down) / (2 * h)
      const err = Math.abs(analytic[i] - numeric)
      assert.ok(err <= tol * (1 + Math.abs(numeric)), `d/d${w.name}[${i}]: autodiff ${analytic[i]} vs central difference ${numeric}`)
    }
  }
}
