// The peer engine for the GPT benchmark: the same byte-level GPT (pre-LN, causal attention, exact
// GELU, tied head) trained with @tensorflow/tfjs on its wasm backend, on random bytes.
import { tfjsWasm } from './tfjs-peer.js'

interface Shape { vocab: number, context: number, layers: number, heads: number, width: number }

/** Tokens/s of Adam training steps (tfjs has no AdamW; the same FLOPs) at `batch` windows of `context` bytes. */
export async function tfjsGptTokensPerSecond (s: Shape, batch: number, seconds = 6): Promise<number> {
  const tf = await tfjsWasm()
  type T = import('@tensorflow/tfjs').Tensor
  const { vocab: v, context: t, layers, heads: h, width: d } = s
  const hd = d / h
  const w = (shape: number[], std = 0.02): import('@tensorflow/tfjs').Variable => tf.variable(tf.randomNormal(shape, 0, std))
  const ones = (n: number): import('@tensorflow/tfjs').Variable => tf.variable(tf.ones([n]))
  const zeros = (n: number): import('@tensorflow/tfjs').Variable => tf.variable(tf.zeros([n]))
  const wte = w([v, d])
  const wpe = w([t, d])
  const blocks = Array.from({ length: layers }, () => ({
    g1: ones(d), b1: zeros(d), wqkv: w([d, 3 * d]), bqkv: zeros(3 * d), wo: w([d, d]), bo: zeros(d),
    g2: ones(d), b2: zeros(d), w1: w([d, 4 * d]), c1: zeros(4 * d), w2: w([4 * d, d]), c2: zeros(d)
  }))
  const gf = ones(d)
  const bf = zeros(d)
  const mask = tf.linalg.bandPart(tf.ones([t, t]), -1, 0).sub(1).mul(1e9) // 0 on and below the diagonal, −1e9 above
  const norm = (x: T, g: T, b: T): T => {
    const { mean, variance } = tf.moments(x, -1, true)
    return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b)
  }
  const heads = (x: T): T => x.reshape([batch, t, h, hd]).transpose([0, 2, 1, 3])
  const tokens = tf.randomUniform([batch * t], 0, v, 'int32')
  const oneHotTokens = tf.oneHot(tokens, v).toFloat()
  const targets = tf.oneHot(tf.randomUniform([batch * t], 0, v, 'int32'), v)
  const loss = (): import('@tensorflow/tfjs').Scalar => {
    // tfjs-wasm has no UnsortedSegmentSum (Gather's gradient): the lookup is a one-hot MatMul,
    // 2·V·D more FLOPs per token forward (≈ 3% of the step), counted against tfjs
    let x = oneHotTokens.matMul(wte).reshape([batch, t, d]).add(wpe).reshape([batch * t, d])
    for (const p of blocks) {
      const a = norm(x, p.g1, p.b1)
      const [q, k, vv] = tf.split(a.matMul(p.wqkv).add(p.bqkv), 3, 1)
      const att = tf.softmax(tf.matMul(heads(q), heads(k), false, true).mul(1 / Math.sqrt(hd)).add(mask))
      const y = tf.matMul(att, heads(vv)).transpose([0, 2, 1, 3]).reshape([batch * t, d])
      x = x.add(y.matMul(p.wo).add(p.bo))
      const m = norm(x, p.g2, p.b2).matMul(p.w1).add(p.c1)
      const gelu = m.mul(0.5).mul(tf.erf(m.mul(Math.SQRT1_2)).add(1))
      x = x.add(gelu.matMul(p.w2).add(p.c2))
    }
    const logits = norm(x, gf, bf).matMul(wte, false, true)
    return tf.losses.softmaxCrossEntropy(targets, logits) as import('@tensorflow/tfjs').Scalar
  }
  const opt = tf.train.adam(1e-3)
  const step = (): void => { tf.tidy(() => { opt.minimize(loss) }) }
  step()
  let steps = 0
  const t0 = performance.now()
  while (steps === 0 || performance.now() - t0 < seconds * 1000) { step(); steps++ }
  const secs = (performance.now() - t0) / 1000
  tf.disposeVariables()
  tf.dispose([mask, tokens, oneHotTokens, targets])
  return steps * batch * t / secs
}
