// Chooses the ONNX Runtime execution provider at run time: CUDA when present, else CPU.
import type { InferenceSession } from 'onnxruntime-node'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { TrainError, TrainErrorCode } from './errors.js'

export type DeviceRequest = 'auto' | 'cuda' | 'cpu'
export type Device = 'cuda' | 'cpu'

export const DEVICE_REQUESTS: readonly DeviceRequest[] = ['auto', 'cuda', 'cpu']

export function parseDeviceRequest (s: string): DeviceRequest {
  if ((DEVICE_REQUESTS as readonly string[]).includes(s)) return s as DeviceRequest
  throw new TrainError(TrainErrorCode.BadDevice, `unknown device "${s}" (expected one of: ${DEVICE_REQUESTS.join(', ')})`)
}

export interface DeviceChoice {
  device: Device
  /** why this device: shown in logs so operators know which provider runs */
  reason: string
}

/** Session options for a resolved device; CPU uses all cores given to it. */
export function sessionOptions (device: Device, threads?: number): InferenceSession.SessionOptions {
  const base: InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true
  }
  if (threads != null && threads > 0) base.intraOpNumThreads = threads
  base.executionProviders = device === 'cuda' ? [{ name: 'cuda' }] : ['cpu']
  return base
}

/**
 * Resolves 'auto' by trying to open a session on CUDA with a probe model; a failure falls back
 * to CPU with the reason. An explicit 'cuda' that cannot open is an error, not a silent fallback.
 */
export async function resolveDevice (
  request: DeviceRequest,
  probeModel: Uint8Array,
  create: (model: Uint8Array, opts: InferenceSession.SessionOptions) => Promise<unknown>,
  installed: () => boolean = cudaProviderInstalled
): Promise<DeviceChoice> {
  if (request === 'cpu') return { device: 'cpu', reason: 'requested' }
  // without the provider library ORT would print a loud load failure: say it plainly instead
  if (!installed()) {
    const why = 'the CUDA execution provider is not installed (README: npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12)'
    if (request === 'cuda') throw new TrainError(TrainErrorCode.DeviceUnavailable, `--device cuda: ${why}`)
    return { device: 'cpu', reason: `auto: ${why}; using CPU` }
  }
  try {
    await create(probeModel, sessionOptions('cuda'))
    return { device: 'cuda', reason: request === 'cuda' ? 'requested' : 'auto: CUDA provider available' }
  } catch (err) {
    const why = firstLine(err)
    if (request === 'cuda') {
      throw new TrainError(TrainErrorCode.DeviceUnavailable, `CUDA execution provider unavailable: ${why} (see README: installing the CUDA provider)`)
    }
    return { device: 'cpu', reason: `auto: CUDA unavailable, falling back to CPU (${why})` }
  }
}

function firstLine (err: unknown): string {
  const s = err instanceof Error ? err.message : String(err)
  return s.split('\n')[0].slice(0, 200)
}

/** Whether onnxruntime-node's CUDA provider library is present next to its binding. */
export function cudaProviderInstalled (): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'))
    const binDir = join(pkg, 'bin')
    for (const napi of readdirSync(binDir)) {
      if (existsSync(join(binDir, napi, process.platform, process.arch, 'libonnxruntime_providers_cuda.so'))) return true
    }
  } catch {}
  return false
}
