// Messages between the Trainer (main thread) and its ONNX Runtime worker thread.
import type { DeviceRequest, Device } from './device.js'

export interface InitRequest {
  type: 'init'
  /** fused K-step training graph, and optionally a 1-step graph for remainders */
  trainModels: Array<{ steps: number, model: Uint8Array }>
  evalModel: Uint8Array
  device: DeviceRequest
  threads?: number
  stateNames: string[]
  params: Float32Array
}

export interface TrainRequest {
  type: 'train'
  steps: number
  lr: number
  x: Float32Array
  xShape: number[]
  y: BigInt64Array
}

export interface EvalRequest {
  type: 'eval'
  x: Float32Array
  xShape: number[]
  y: BigInt64Array
}

export interface GetRequest { type: 'get' }
export interface SetRequest { type: 'set', params: Float32Array, state?: Float32Array[] }
export interface CloseRequest { type: 'close' }

export type WorkerRequest = InitRequest | TrainRequest | EvalRequest | GetRequest | SetRequest | CloseRequest

export type WorkerReply =
  | { type: 'ready', device: Device, reason: string }
  | { type: 'trained', losses: Float32Array }
  | { type: 'evaluated', lossSum: number, correct: number, n: number }
  | { type: 'params', params: Float32Array, state: Float32Array[] }
  | { type: 'done' }
  | { type: 'error', code: string, message: string }

/** Each request gets exactly one reply, in order: the worker handles one at a time. */
export interface Envelope<T> { id: number, body: T }
