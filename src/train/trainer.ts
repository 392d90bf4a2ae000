// The local trainer: builds training-step graphs, runs them in a worker thread on the chosen
// execution provider, and exposes parameters as one flat Float32Array with a named layout.
import { Worker } from 'node:worker_threads'
import { buildEvalModel, buildTrainingStep, initParams, type ModelSpec, type OptimizerSpec } from '../graph/index.js'
import type { ParamLayout } from '../tensor/index.js'
import type { DeviceRequest, Device } from './device.js'
import { TrainError, TrainErrorCode } from './errors.js'
import type { Envelope, WorkerReply, WorkerRequest } from './protocol.js'

export interface TrainerOptions {
  model: ModelSpec
  optimizer: OptimizerSpec
  /** inner steps fused into one ONNX Loop run; remainders use a 1-step graph */
  fusedSteps: number
  device: DeviceRequest
  /** intra-op threads for ONNX Runtime; default: runtime's choice */
  threads?: number
  /** seed of the initial parameters (ignored when initialParams is given) */
  seed: number
  initialParams?: Float32Array
}

export interface EvalResult { loss: number, accuracy: number, n: number }

/** Labelled examples stacked row-major: x is n × featureSize, y holds class ids. */
export interface LabelledSet { x: Float32Array, y: Int32Array | BigInt64Array, n: number, featureShape: readonly number[] }

export class Trainer {
  readonly layout: ParamLayout
  readonly device: Device
  readonly deviceReason: string
  readonly fusedSteps: number
  readonly featureShape: number[]
  private readonly worker: Worker
  private nextId = 0
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void, reject: (e: Error) => void }>()
  private closed = false

  private constructor (worker: Worker, layout: ParamLayout, device: Device, reason: string, fusedSteps: number, featureShape: number[]) {
    this.worker = worker
    this.layout = layout
    this.device = device
    this.deviceReason = reason
    this.fusedSteps = fusedSteps
    this.featureShape = featureShape
  }

  static async create (opts: TrainerOptions): Promise<Trainer> {
    if (!Number.isInteger(opts.fusedSteps) || opts.fusedSteps < 1) {
      throw new TrainError(TrainErrorCode.BadInput, `fused steps must be a positive integer, got ${opts.fusedSteps}`)
    }
    const fused = buildTrainingStep(opts.model, opts.optimizer, opts.fusedSteps)
    const trainModels = [{ steps: opts.fusedSteps, model: fused.model }]
    if (opts.fusedSteps > 1) trainModels.push({ steps: 1, model: buildTrainingStep(opts.model, opts.optimizer, 1).model })
    const evalModel = buildEvalModel(opts.model).model
    const params = opts.initialParams != null ? Float32Array.from(opts.initialParams) : initParams(opts.model, opts.seed)
    if (params.length !== fused.layout.total) {
      throw new TrainError(TrainErrorCode.BadInput, `initial parameters have ${params.length} elements, model needs ${fused.layout.total}`)
    }
    const worker = new Worker(new URL('./worker.js', import.meta.url))
    const t = new Trainer(worker, fused.layout, 'cpu', '', opts.fusedSteps, [...fused.inputShape])
    t.listen()
    const ready = await t.call({
      type: 'init', trainModels, evalModel, device: opts.device, threads: opts.threads, stateNames: fused.stateNames, params
    }, [params.buffer as ArrayBuffer])
    if (ready.type !== 'ready') throw new TrainError(TrainErrorCode.WorkerFailed, 'worker did not initialise')
    return Object.assign(t, { device: ready.device, deviceReason: ready.reason })
  }

  private listen (): void {
    this.worker.on('message', (msg: Envelope<WorkerReply>) => {
      const p = this.pending.get(msg.id)
      if (p == null) return
      this.pending.delete(msg.id)
      if (msg.body.type === 'error') {
        const code = (Object.values(TrainErrorCode) as string[]).includes(msg.body.code) ? msg.body.code as TrainErrorCode : TrainErrorCode.WorkerFailed
        p.reject(new TrainError(code, msg.body.message))
      } else p.resolve(msg.body)
    })
    const failAll = (err: Error): void => {
      for (const p of this.pending.values()) p.reject(new TrainError(TrainErrorCode.WorkerFailed, `trainer worker failed: ${err.message}`))
      this.pending.clear()
    }
    this.worker.on('error', failAll)
    this.worker.on('exit', code => { if (!this.closed) failAll(new Error(`exited with code ${code}`)) })
  }

  private async call (body: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.closed) throw new TrainError(TrainErrorCode.WorkerFailed, 'trainer is closed')
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ id, body }, transfer)
    })
  }

  /**
   * Runs `steps` optimizer steps on stacked batches x [steps, B, ...features], y [steps, B]
   * (steps must be the fused count or 1). Returns the per-step losses. Buffers are transferred.
   */
  async trainSteps (steps: number, batch: number, x: Float32Array, y: BigInt64Array, lr: number): Promise<Float32Array> {
    const feat = this.featureShape.reduce((a, b) => a * b, 1)
    if (x.length !== steps * batch * feat || y.length !== steps * batch) {
      throw new TrainError(TrainErrorCode.BadInput, `batch buffers do not match ${steps}×${batch} examples`)
    }
    if (!Number.isFinite(lr)) throw new TrainError(TrainErrorCode.BadInput, `learning rate must be finite, got ${lr}`)
    const r = await this.call({ type: 'train', steps, lr, x, xShape: [steps, batch, ...this.featureShape], y }, [x.buffer as ArrayBuffer, y.buffer as ArrayBuffer])
    if (r.type !== 'trained') throw new TrainError(TrainErrorCode.WorkerFailed, `unexpected reply ${r.type}`)
    return r.losses
  }

  /** Mean loss and accuracy over a labelled set, in chunks so memory stays bounded. */
  async evaluate (set: LabelledSet, chunk = 1000): Promise<EvalResult> {
    const feat = this.featureShape.reduce((a, b) => a * b, 1)
    let lossSum = 0
    let correct = 0
    for (let start = 0; start < set.n; start += chunk) {
      const n = Math.min(chunk, set.n - start)
      const x = set.x.slice(start * feat, (start + n) * feat)
      const y = new BigInt64Array(n)
      for (let i = 0; i < n; i++) y[i] = BigInt(set.y[start + i])
      const r = await this.call({ type: 'eval', x, xShape: [n, ...this.featureShape], y }, [x.buffer, y.buffer])
      if (r.type !== 'evaluated') throw new TrainError(TrainErrorCode.WorkerFailed, `unexpected reply ${r.type}`)
      lossSum += r.lossSum
      correct += r.correct
    }
    return { loss: lossSum / set.n, accuracy: correct / set.n, n: set.n }
  }

  async getParams (): Promise<{ params: Float32Array, state: Float32Array[] }> {
    const r = await this.call({ type: 'get' })
    if (r.type !== 'params') throw new TrainError(TrainErrorCode.WorkerFailed, `unexpected reply ${r.type}`)
    return { params: r.params, state: r.state }
  }

  /** Replaces the parameters; optimizer state is reset unless given (DiLoCo restarts inner AdamW). */
  async setParams (params: Float32Array, state?: Float32Array[]): Promise<void> {
    if (params.length !== this.layout.total) {
      throw new TrainError(TrainErrorCode.BadInput, `parameters have ${params.length} elements, layout needs ${this.layout.total}`)
    }
    const p = Float32Array.from(params)
    await this.call({ type: 'set', params: p, state: state?.map(s => Float32Array.from(s)) }, [p.buffer])
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.worker.terminate()
  }
}
