// Messages between the Trainer (main thread) and its ONNX Runtime worker thread.
import type { IoDType } from '../graph/index.js'
import type { DeviceRequest, Device } from './device.js'

/** A graph input fed by name with one element type, as the model declared it. */
export interface Feed { name: string, dtype: IoDType }

/** One batch tensor: Float32Array for float32, BigInt64Array for int64. */
export type FeedData = Float32Array | BigInt64Array

export interface InitRequest {
  type: 'init'
  /** fused K-step training graph, and optionally a 1-step graph for remainders */
  trainModels: Array<{ steps: number, model: Uint8Array }>
  evalModel: Uint8Array
  /** the model's input (the batch's x) and target (the batch's y) */
  input: Feed
  target: Feed
  /** whether the eval model has the `correct` output */
  evalCorrect: boolean
  device: DeviceRequest
  threads?: number
  stateNames: string[]
  params: Float32Array
}

export interface TrainRequest {
  type: 'train'
  steps: number
  lr: number
  x: FeedData
  xShape: number[]
  y: BigInt64Array
  yShape: number[]
}

export interface EvalRequest {
  type: 'eval'
  x: FeedData
  xShape: number[]
  y: BigInt64Array
  yShape: number[]
}

export interface GetRequest { type: 'get' }
export interface SetRequest { type: 'set', params: Float32Array, state?: Float32Array[] }
export interface CloseRequest { type: 'close' }

export type WorkerRequest = InitRequest | TrainRequest | EvalRequest | GetRequest | SetRequest | CloseRequest

export type WorkerReply =
  | { type: 'ready', device: Device, reason: string }
  | { type: 'trained', losses: Float32Array }
  /** loss: the chunk's mean over its target elements; correct: 0 when the model reports no accuracy */
  | { type: 'evaluated', loss: number, correct: number }
  | { type: 'params', params: Float32Array, state: Float32Array[] }
  | { type: 'done' }
  | { type: 'error', code: string, message: string }

/** Each request gets exactly one reply, in order: the worker handles one at a time. */
export interface Envelope<T> { id: number, body: T }
