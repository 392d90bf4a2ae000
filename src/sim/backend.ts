// How simulated nodes train: real ONNX training on their data shard, or synthetic updates
// for protocol-only runs. The simulator sees only this interface.
import { Rng, createLayout, type ParamLayout } from '../tensor/index.js'
import type { EvalResult } from '../train/index.js'

export interface TrainingBackend {
  readonly layout: ParamLayout
  /** θ_0, the same on every node (derived from the run seed) */
  initialParams (): Float32Array
  /**
   * each node's fold weight, as a run's manifest would declare it (the examples it holds);
   * absent: every node weighs the samples its training reports for the run's inner steps
   */
  readonly weights?: readonly number[]
  /** H local steps of `node` from `params`; returns the new params and the samples seen */
  train (node: number, round: number, params: Float32Array, steps: number): Promise<{ params: Float32Array, samples: number }>
  /** test loss/accuracy of a global model; undefined when the backend has no data */
  evaluate (params: Float32Array): Promise<EvalResult | undefined>
  close (): Promise<void>
}

/**
 * Protocol-only: each node's "training" moves the model by a small seeded random step plus a
 * shared drift, so codecs, folds and commits do real work on realistic-looking vectors.
 */
export class SyntheticBackend implements TrainingBackend {
  readonly layout: ParamLayout
  private readonly seed: number
  private readonly direction: Float32Array

  constructor (params: number, seed: number) {
    this.layout = createLayout([{ name: 'synthetic', shape: [params] }])
    this.seed = seed
    const rng = new Rng(seed).fork('drift')
    this.direction = new Float32Array(params)
    for (let i = 0; i < params; i++) this.direction[i] = rng.normal() * 1e-3
  }

  initialParams (): Float32Array {
    const rng = new Rng(this.seed).fork('init')
    const p = new Float32Array(this.layout.total)
    for (let i = 0; i < p.length; i++) p[i] = rng.normal() * 0.05
    return p
  }

  async train (node: number, round: number, params: Float32Array, steps: number): Promise<{ params: Float32Array, samples: number }> {
    const rng = new Rng(`${this.seed}/${node}/${round}`)
    const out = new Float32Array(params.length)
    const scale = 1e-3 * Math.sqrt(steps)
    for (let i = 0; i < out.length; i++) out[i] = params[i] - this.direction[i] - scale * rng.normal()
    return { params: out, samples: steps }
  }

  async evaluate (): Promise<EvalResult | undefined> { return undefined }
  async close (): Promise<void> {}
}
