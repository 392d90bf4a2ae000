// Generating text from an exported byte-level language model with stock ONNX Runtime.
import ort from './ort.js'
import { Rng } from '../tensor/index.js'
import type { ModelSpec } from '../graph/index.js'
import { TrainError, TrainErrorCode } from './errors.js'

export interface SampleOptions {
  prompt: string
  /** bytes to generate */
  tokens: number
  /** 0: always the most likely byte; 1: the model's distribution */
  temperature: number
  seed: number
}

/**
 * Continues `prompt` byte by byte. The model takes exactly `context` tokens, so the window is the
 * last `context` bytes, right-padded with zeros while shorter: the model is causal, so what
 * follows a position never changes its logits, and the next byte is read at the last real one.
 */
export async function sampleText (model: Uint8Array, spec: ModelSpec, o: SampleOptions): Promise<string> {
  if (spec.kind !== 'gpt' && spec.kind !== 'bigram') throw new TrainError(TrainErrorCode.BadInput, `a ${spec.kind} model does not generate text: sample takes a byte-level language model`)
  const { context, vocab } = spec
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new TrainError(TrainErrorCode.BadInput, `temperature must be ≥ 0, got ${o.temperature}`)
  const session = await ort.InferenceSession.create(model)
  const rng = new Rng(o.seed).fork('sample')
  const bytes = Array.from(new TextEncoder().encode(o.prompt))
  // an empty prompt starts from a newline, as documents in the corpus do
  if (bytes.length === 0) bytes.push(10)
  const start = bytes.length
  const window = new BigInt64Array(context)
  try {
    for (let n = 0; n < o.tokens; n++) {
      const from = Math.max(0, bytes.length - context)
      const used = bytes.length - from
      window.fill(0n)
      for (let i = 0; i < used; i++) window[i] = BigInt(bytes[from + i])
      const out = await session.run({ tokens: new ort.Tensor('int64', window, [1, context]) })
      const logits = (out.logits.data as Float32Array).subarray((used - 1) * vocab, used * vocab)
      bytes.push(pick(logits, o.temperature, rng))
    }
  } finally {
    await session.release()
  }
  return o.prompt + new TextDecoder('utf-8').decode(Uint8Array.from(bytes.slice(start)))
}

function pick (logits: Float32Array, temperature: number, rng: Rng): number {
  let best = 0
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i
  if (temperature === 0) return best
  const w = new Float64Array(logits.length)
  let z = 0
  for (let i = 0; i < logits.length; i++) { w[i] = Math.exp((logits[i] - logits[best]) / temperature); z += w[i] }
  let u = rng.next() * z
  for (let i = 0; i < w.length; i++) { u -= w[i]; if (u <= 0) return i }
  return best
}
