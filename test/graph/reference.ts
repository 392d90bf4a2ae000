// A plain-JS float64 MLP with hand-written backprop and optimizers: the yardstick for the ONNX step graphs.
import type { OptimizerSpec } from '../../src/graph/index.js'

export interface RefState { m: number[], v: number[], t: number }

/** logits [B, C] of the MLP (weights [in, out], ReLU between layers) */
export function refForward (sizes: number[], p: ArrayLike<number>, x: ArrayLike<number>, b: number): { acts: number[][], logits: number[] } {
  let off = 0
  let h = Array.from(x)
  const acts = [h]
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [n, m] = [sizes[l], sizes[l + 1]]
    const w = off; const bias = off + n * m; off = bias + m
    const out = new Array<number>(b * m).fill(0)
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < m; j++) {
        let s = p[bias + j]
        for (let k = 0; k < n; k++) s += h[i * n + k] * p[w + k * m + j]
        out[i * m + j] = l + 2 < sizes.length ? Math.max(0, s) : s
      }
    }
    h = out
    acts.push(h)
  }
  return { acts, logits: h }
}

/** mean softmax cross-entropy and its gradient w.r.t. the flat parameters */
export function refLossGrad (sizes: number[], p: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, b: number): { loss: number, grad: number[] } {
  const { acts, logits } = refForward(sizes, p, x, b)
  const c = sizes[sizes.length - 1]
  let loss = 0
  let d = new Array<number>(b * c)
  for (let i = 0; i < b; i++) {
    const row = logits.slice(i * c, (i + 1) * c)
    const mx = Math.max(...row)
    const z = row.reduce((s, v) => s + Math.exp(v - mx), 0)
    loss -= row[y[i]] - mx - Math.log(z)
    for (let j = 0; j < c; j++) d[i * c + j] = (Math.exp(row[j] - mx) / z - (j === y[i] ? 1 : 0)) / b
  }
  const grad = new Array<number>(p.length).fill(0)
  const offs: number[] = []
  let off = 0
  for (let l = 0; l + 1 < sizes.length; l++) { offs.push(off); off += sizes[l] * sizes[l + 1] + sizes[l + 1] }
  for (let l = sizes.length - 2; l >= 0; l--) {
    const [n, m] = [sizes[l], sizes[l + 1]]
    const w = offs[l]; const bias = w + n * m
    const h = acts[l]
    const dh = new Array<number>(b * n).fill(0)
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < m; j++) {
        const g = d[i * m + j]
        grad[bias + j] += g
        for (let k = 0; k < n; k++) {
          grad[w + k * m + j] += h[i * n + k] * g
          dh[i * n + k] += p[w + k * m + j] * g
        }
      }
    }
    if (l > 0) for (let q = 0; q < dh.length; q++) if (h[q] <= 0) dh[q] = 0
    d = dh
  }
  return { loss: loss / b, grad }
}

/** one optimizer update in place, with the documented defaults */
export function refUpdate (opt: OptimizerSpec, p: number[], grad: number[], s: RefState, lr: number): void {
  let g = grad
  if (opt.clipNorm !== undefined) {
    const norm = Math.sqrt(g.reduce((a, v) => a + v * v, 0))
    const scale = opt.clipNorm / Math.max(norm, opt.clipNorm)
    g = g.map(v => v * scale)
  }
  if (opt.kind === 'sgd') {
    const mu = opt.momentum ?? 0.9
    const wd = opt.weightDecay ?? 0
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i]
      s.m[i] = mu * s.m[i] + gi
      p[i] -= lr * s.m[i]
    }
    return
  }
  const b1 = opt.beta1 ?? 0.9
  const b2 = opt.beta2 ?? 0.999
  const eps = opt.eps ?? 1e-8
  const wd = opt.weightDecay ?? 0
  s.t += 1
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - lr * wd
    s.m[i] = b1 * s.m[i] + (1 - b1) * g[i]
    s.v[i] = b2 * s.v[i] + (1 - b2) * g[i] * g[i]
    const mh = s.m[i] / (1 - b1 ** s.t)
    const vh = s.v[i] / (1 - b2 ** s.t)
    p[i] -= lr * mh / (Math.sqrt(vh) + eps)
  }
}
