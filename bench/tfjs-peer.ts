// The peer engine: the same MLP trained with @tensorflow/tfjs on its wasm backend (EPFL Disco's engine family).
import { createRequire } from 'node:module'
import path from 'node:path'

/** TensorFlow.js on its wasm backend, ready to run (the peer of both training benchmarks). */
export async function tfjsWasm (): Promise<typeof import('@tensorflow/tfjs')> {
  const tf = await import('@tensorflow/tfjs')
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  const require = createRequire(import.meta.url)
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/')
  await tf.setBackend('wasm')
  await tf.ready()
  return tf
}

/** Steps/s of AdamW-free Adam training (tfjs has no AdamW; same FLOPs) on random data. */
export async function tfjsWasmStepsPerSecond (sizes: number[], batch: number, seconds = 2): Promise<number> {
  const tf = await tfjsWasm()
  const vars: Array<{ w: import('@tensorflow/tfjs').Variable, b: import('@tensorflow/tfjs').Variable }> = []
  for (let i = 0; i + 1 < sizes.length; i++) {
    vars.push({ w: tf.variable(tf.randomNormal([sizes[i], sizes[i + 1]], 0, Math.sqrt(2 / sizes[i]))), b: tf.variable(tf.zeros([sizes[i + 1]])) })
  }
  const opt = tf.train.adam(1e-3)
  const x = tf.randomUniform([batch, sizes[0]])
  const y = tf.oneHot(tf.randomUniform([batch], 0, sizes[sizes.length - 1], 'int32'), sizes[sizes.length - 1])
  const step = (): void => {
    tf.tidy(() => {
      opt.minimize(() => {
        let h: import('@tensorflow/tfjs').Tensor = x
        vars.forEach((v, i) => { h = h.matMul(v.w).add(v.b); if (i + 1 < vars.length) h = tf.relu(h) })
        return tf.losses.softmaxCrossEntropy(y, h) as import('@tensorflow/tfjs').Scalar
      })
    })
  }
  for (let i = 0; i < 5; i++) step()
  let steps = 0
  const t0 = performance.now()
  while (performance.now() - t0 < seconds * 1000) { step(); steps++ }
  const s = (performance.now() - t0) / 1000
  tf.disposeVariables()
  return steps / s
}
