// `npm run bench -- compress`: codecs on a real MNIST pseudo-gradient (tiled to ≥ 10 M) and a Gaussian vector.
import { Trainer, DEFAULT_INNER_OPTIMIZER } from '../src/train/index.js'
import { loadMnist, BatchSampler } from '../src/data/index.js'
import { Rng } from '../src/tensor/index.js'
import { benchCompress } from './compress.js'

const TARGET = 10_000_000

/** θ before minus θ after H local AdamW steps from a briefly pre-trained model, tiled to ≥ 10 M. */
export async function mnistPseudoGradient (h = 50, batch = 64): Promise<Float32Array> {
  const trainer = await Trainer.create({ model: { kind: 'mlp', sizes: [784, 256, 10] }, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: h, device: 'cpu', seed: 7 })
  try {
    const { train } = loadMnist()
    const sampler = new BatchSampler(train, null, batch, new Rng(7))
    const step = async (): Promise<void> => { const { x, y } = sampler.next(h); await trainer.trainSteps(h, batch, x, y, 1e-3) }
    await step() // a warm start: early pseudo-gradients are atypically large
    const before = (await trainer.getParams()).params
    await step()
    const after = (await trainer.getParams()).params
    const delta = new Float32Array(before.length)
    for (let i = 0; i < delta.length; i++) delta[i] = before[i] - after[i]
    const tiled = new Float32Array(Math.ceil(TARGET / delta.length) * delta.length)
    for (let off = 0; off < tiled.length; off += delta.length) tiled.set(delta, off)
    return tiled
  } finally {
    await trainer.close()
  }
}

export async function benchCompressWithPseudoGradient (opts: { json: boolean }): Promise<object> {
  const pg = await mnistPseudoGradient()
  return await benchCompress({ json: opts.json, vectors: [{ name: `mnist-mlp pseudo-gradient (H=50, tiled to ${pg.length})`, data: pg }] })
}
