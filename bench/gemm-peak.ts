// The machine's GEMM peak: a 1024³ MatMul in ONNX Runtime, the limit training steps are measured against.
import onnxProto from 'onnx-proto'
import ort from '../src/train/ort.js'
import { sessionOptions, type Device } from '../src/train/index.js'

const { onnx } = onnxProto

function matmulModel (n: number): Uint8Array {
  const t = (name: string) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } }
  })
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 18 }],
    producerName: 'tapestry-bench',
    graph: { name: 'gemm', node: [{ opType: 'MatMul', input: ['a', 'b'], output: ['c'] }], input: [t('a'), t('b')], output: [t('c')] }
  })
  return onnx.ModelProto.encode(model).finish()
}

/** GFLOP/s of repeated n³ MatMul runs for about `seconds` (after a warm-up). */
export async function gemmPeak (device: Device, n = 1024, seconds = 2, threads?: number): Promise<number> {
  const session = await ort.InferenceSession.create(matmulModel(n), sessionOptions(device, threads))
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5)
  const feeds = { a: new ort.Tensor('float32', a, [n, n]), b: new ort.Tensor('float32', a, [n, n]) }
  for (let i = 0; i < 3; i++) await session.run(feeds)
  let runs = 0
  const t0 = performance.now()
  while (performance.now() - t0 < seconds * 1000) { await session.run(feeds); runs++ }
  const s = (performance.now() - t0) / 1000
  await session.release()
  return (2 * n * n * n * runs) / s / 1e9
}
