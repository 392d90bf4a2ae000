// The local trainer: builds training-step graphs, runs them in a worker thread on the chosen
// execution provider, and exposes parameters as one flat Float32Array with a named layout.
import { Worker } from 'node:worker_threads'
import { buildEvalModel, buildTrainingStep, initParams, metricValue, needsCorrect, type EvalSums, type MetricName, type ModelSpec, type OptimizerSpec, type TensorSpec } from '../graph/index.js'
import { evalChunks, type Dataset } from '../data/index.js'
import type { ParamLayout } from '../tensor/index.js'
import type { DeviceRequest, Device } from './device.js'
import { TrainError, TrainErrorCode } from './errors.js'
import type { Envelope, FeedData, WorkerReply, WorkerRequest } from './protocol.js'

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

/**
 * Mean loss over the `n` target elements scored (examples of a classifier, predicted
 * tokens of a language model) and the metrics the model declares: `accuracy` (share of
 * exact argmax predictions) for classifiers, `bitsPerByte` for byte-level language models.
 */
export interface EvalResult {
  loss: number
  n: number
  accuracy?: number
  bitsPerByte?: number
}

/** The per-example shape of a declared tensor (its axes after the batch axis). */
function exampleShape (t: TensorSpec): number[] {
  return t.shape.slice(1) as number[]
}

function elements (shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

export class Trainer {
  readonly layout: ParamLayout
  readonly device: Device
  readonly deviceReason: string
  readonly fusedSteps: number
  /** the model's input (a batch's x) and target (a batch's y), as it declares them */
  readonly input: TensorSpec
  readonly target: TensorSpec
  readonly metrics: readonly MetricName[]
  /** per-example shapes of x and y, e.g. [784] and [] for the MLP, [T] and [T] for a language model */
  readonly inputShape: number[]
  readonly targetShape: number[]
  private readonly worker: Worker
  private nextId = 0
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void, reject: (e: Error) => void }>()
  private closed = false

  private constructor (worker: Worker, layout: ParamLayout, device: Device, reason: string, fusedSteps: number, input: TensorSpec, target: TensorSpec, metrics: readonly MetricName[]) {
    this.worker = worker
    this.layout = layout
    this.device = device
    this.deviceReason = reason
    this.fusedSteps = fusedSteps
    this.input = input
    this.target = target
    this.metrics = metrics
    this.inputShape = exampleShape(input)
    this.targetShape = exampleShape(target)
  }

  static async create (opts: TrainerOptions): Promise<Trainer> {
    if (!Number.isInteger(opts.fusedSteps) || opts.fusedSteps < 1) {
      throw new TrainError(TrainErrorCode.BadInput, `fused steps must be a positive integer, got ${opts.fusedSteps}`)
    }
    const fused = buildTrainingStep(opts.model, opts.optimizer, opts.fusedSteps)
    if (fused.inputs.length !== 1) {
      // a batch carries one x; models with several inputs need batches with named parts
      throw new TrainError(TrainErrorCode.BadInput, `model ${opts.model.kind} declares ${fused.inputs.length} inputs; the trainer feeds exactly one`)
    }
    const trainModels = [{ steps: opts.fusedSteps, model: fused.model }]
    if (opts.fusedSteps > 1) trainModels.push({ steps: 1, model: buildTrainingStep(opts.model, opts.optimizer, 1).model })
    const evalModel = buildEvalModel(opts.model)
    const params = opts.initialParams != null ? Float32Array.from(opts.initialParams) : initParams(opts.model, opts.seed)
    if (params.length !== fused.layout.total) {
      throw new TrainError(TrainErrorCode.BadInput, `initial parameters have ${params.length} elements, model needs ${fused.layout.total}`)
    }
    const worker = new Worker(new URL('./worker.js', import.meta.url))
    const [input] = fused.inputs
    const t = new Trainer(worker, fused.layout, 'cpu', '', opts.fusedSteps, input, fused.target, evalModel.metrics)
    t.listen()
    const ready = await t.call({
      type: 'init',
      trainModels,
      evalModel: evalModel.model,
      input: { name: input.name, dtype: input.dtype },
      target: { name: fused.target.name, dtype: fused.target.dtype },
      evalCorrect: needsCorrect(evalModel.metrics),
      device: opts.device,
      threads: opts.threads,
      stateNames: fused.stateNames,
      params
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
   * Runs `steps` optimizer steps on stacked batches x [steps, B, ...inputShape] (the element
   * type the model declares: Float32Array for float32, BigInt64Array for int64) and
   * y [steps, B, ...targetShape] (steps must be the fused count or 1). Returns the per-step
   * losses. Buffers are transferred.
   */
  async trainSteps (steps: number, batch: number, x: FeedData, y: BigInt64Array, lr: number): Promise<Float32Array> {
    this.checkBatch(steps * batch, x, y)
    if (!Number.isFinite(lr)) throw new TrainError(TrainErrorCode.BadInput, `learning rate must be finite, got ${lr}`)
    const r = await this.call({
      type: 'train', steps, lr, x, xShape: [steps, batch, ...this.inputShape], y, yShape: [steps, batch, ...this.targetShape]
    }, [x.buffer as ArrayBuffer, y.buffer as ArrayBuffer])
    if (r.type !== 'trained') throw new TrainError(TrainErrorCode.WorkerFailed, `unexpected reply ${r.type}`)
    return r.losses
  }

  /**
   * Mean loss and the model's metrics over a held-out set, in chunks of at most `chunk`
   * examples so memory stays bounded (how a set is cut depends on its kind: evalChunks).
   */
  async evaluate (set: Dataset, chunk = 1000): Promise<EvalResult> {
    const sums: EvalSums = { lossSum: 0, units: 0, correct: 0 }
    for (const c of evalChunks(set, chunk)) {
      this.checkBatch(c.n, c.x, c.y)
      // read before the call: transferring the buffers detaches them
      const units = c.y.length
      const r = await this.call({
        type: 'eval', x: c.x, xShape: [c.n, ...this.inputShape], y: c.y, yShape: [c.n, ...this.targetShape]
      }, [c.x.buffer as ArrayBuffer, c.y.buffer as ArrayBuffer])
      if (r.type !== 'evaluated') throw new TrainError(TrainErrorCode.WorkerFailed, `unexpected reply ${r.type}`)
      sums.lossSum += r.loss * units
      sums.units += units
      sums.correct += r.correct
    }
    const result: EvalResult = { loss: sums.lossSum / sums.units, n: sums.units }
    for (const m of this.metrics) {
      const v = metricValue(m, sums)
      switch (m) {
        case 'accuracy': result.accuracy = v; break
        case 'bits_per_byte': result.bitsPerByte = v; break
      }
    }
    return result
  }

  /** Refuses a batch whose element type or size is not what the model declares. */
  private checkBatch (examples: number, x: FeedData, y: BigInt64Array): void {
    const want = this.input.dtype === 'float32' ? x instanceof Float32Array : x instanceof BigInt64Array
    if (!want) throw new TrainError(TrainErrorCode.BadInput, `model input "${this.input.name}" is ${this.input.dtype}, the batch holds ${x.constructor.name}`)
    if (x.length !== examples * elements(this.inputShape) || y.length !== examples * elements(this.targetShape)) {
      throw new TrainError(TrainErrorCode.BadInput, `batch buffers do not match ${examples} examples of [${this.inputShape.join(', ')}] → [${this.targetShape.join(', ')}]`)
    }
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
