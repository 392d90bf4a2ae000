// A node's own model: an ONNX forward graph (e.g. from torch.onnx.export, opset 13–18) replayed
// into the builder, so the same autodiff, optimizers and fused Loop train it. Its float
// initializers with more than one element are the parameters (in file order: the flat layout),
// everything else is constant.
import onnxProto from 'onnx-proto'
import { createHash } from 'node:crypto'
import type { Value } from './builder.js'
import { GraphError, GraphErrorCode, SpecError } from './errors.js'
import { LOSSES, type LossName } from './losses.js'
import { apply } from './opdef.js'
import { OP_TABLE, constTensor, int64s } from './ops/index.js'
import { opKey } from './opdef.js'
import { IO, type IoDType, type TensorSpec } from './spec.js'
import { attr, type AttrValue, type DType, type TensorData, type TypedData } from './types.js'
import { createLayout, type ParamLayout } from '../tensor/layout.js'
import type { ModelDef } from './models/model.js'

const { onnx } = onnxProto

/** What names an imported model: its content hash, and how to train it. */
export interface OnnxSpec {
  kind: 'onnx'
  /** sha256 (hex) of the file's bytes: every member must load the same file */
  id: string
  /** file name, for messages */
  name: string
  /** the graph input fed with examples */
  input: string
  /** the name the target is fed under */
  target: string
  loss: LossName
}

export interface ImportOptions {
  /** file name for messages */
  name: string
  /** the graph input fed with examples @default the only input that is not an initializer */
  input?: string
  /** @default 'y' */
  target?: string
  /** @default softmax_cross_entropy for a rank-2 output, token_cross_entropy for rank 3 */
  loss?: LossName
}

/** Ops whose reduction axes move from an attribute (opset ≤ 17) to an input (18, what the builder writes). */
const AXES_TO_INPUT = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp'])

interface Parsed {
  graph: onnxProto.onnx.IGraphProto
  opset: number
  params: Array<{ name: string, shape: number[], data: Float32Array }>
  constants: Map<string, TensorData>
  inputSpec: TensorSpec
  targetSpec: TensorSpec
  output: string
}

const REGISTRY = new Map<string, { spec: OnnxSpec, def: ModelDef<OnnxSpec>, init: Float32Array }>()

function fail (name: string, message: string): never {
  throw new SpecError(`${name}: ${message}`)
}

const num = (v: unknown): number => typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber: () => number }).toNumber() : Number(v)

const DTYPES: Record<number, DType> = { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' }

/** A TensorProto's values (raw_data or the typed fields), checked against its shape; SpecError naming `where` otherwise. */
export function tensorData (t: onnxProto.onnx.ITensorProto, where: string): TensorData {
  const dtype = DTYPES[t.dataType ?? 0]
  if (dtype === undefined) fail(where, `tensor ${t.name ?? ''} has element type ${t.dataType ?? '?'}, which the builder does not carry`)
  const shape = (t.dims ?? []).map(num)
  const n = shape.reduce((a, b) => a * b, 1)
  let data: TypedData
  const raw = t.rawData
  if (raw != null && raw.length > 0) {
    const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)
    data = dtype === 'float32' ? new Float32Array(buf) : dtype === 'float64' ? new Float64Array(buf) : dtype === 'int64' ? new BigInt64Array(buf) : dtype === 'int32' ? new Int32Array(buf) : new Uint8Array(buf)
  } else {
    switch (dtype) {
      case 'float32': data = Float32Array.from(t.floatData ?? []); break
      case 'float64': data = Float64Array.from(t.doubleData ?? []); break
      case 'int64': data = BigInt64Array.from((t.int64Data ?? []).map(v => BigInt(num(v)))); break
      default: data = dtype === 'int32' ? Int32Array.from(t.int32Data ?? []) : Uint8Array.from(t.int32Data ?? [])
    }
  }
  if (data.length !== n) fail(where, `tensor ${t.name ?? ''} holds ${data.length} values for shape [${shape.join(', ')}]`)
  return { dtype, shape, data }
}

function attrValue (a: onnxProto.onnx.IAttributeProto, where: string): AttrValue {
  switch (a.type) {
    case 1: return attr.float(a.f ?? 0)
    case 2: return attr.int(num(a.i ?? 0))
    case 3: return attr.string(new TextDecoder().decode(a.s ?? new Uint8Array()))
    case 4: return attr.tensor(tensorData(a.t ?? {}, where))
    case 6: return attr.floats(a.floats ?? [])
    case 7: return attr.ints((a.ints ?? []).map(num))
    default: return fail(where, `attribute ${a.name ?? ''} of type ${a.type ?? '?'} is not supported (subgraphs and sparse tensors are not)`)
  }
}

function ioDType (elemType: number | null | undefined, what: string, file: string): IoDType {
  if (elemType === 1) return 'float32'
  if (elemType === 7) return 'int64'
  return fail(file, `${what} has element type ${elemType ?? '?'}: inputs must be float32 or int64`)
}

function dimsOf (vi: onnxProto.onnx.IValueInfoProto): Array<number | null> {
  return (vi.type?.tensorType?.shape?.dim ?? []).map(d => d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null)
}

function parse (bytes: Uint8Array, o: ImportOptions): Parsed {
  let model: onnxProto.onnx.ModelProto
  try { model = onnx.ModelProto.decode(bytes) } catch (err) { return fail(o.name, `not an ONNX model (${(err as Error).message})`) }
  const graph = model.graph
  if (graph == null) return fail(o.name, 'has no graph')
  const opset = num((model.opsetImport ?? []).find(i => (i.domain ?? '') === '' || i.domain === 'ai.onnx')?.version ?? 0)
  if (opset < 13 || opset > 18) fail(o.name, `uses opset ${opset}; opsets 13 to 18 are supported (torch.onnx.export(..., opset_version=17))`)
  // every op must be one the builder knows, checked before anything is built
  const unknown = (graph.node ?? []).filter(n => !OP_TABLE.has(opKey(n.domain ?? '', n.opType ?? '')))
  if (unknown.length > 0) {
    const n = unknown[0]
    const supported = [...OP_TABLE.keys()].sort().join(', ')
    throw new GraphError(GraphErrorCode.SPEC, `${o.name}: op ${n.opType ?? '?'} (node ${n.name ?? '?'}) is not supported${unknown.length > 1 ? ` (nor ${[...new Set(unknown.slice(1).map(u => u.opType))].join(', ')})` : ''}; supported ops: ${supported}`)
  }
  const params: Parsed['params'] = []
  const constants = new Map<string, TensorData>()
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? ''
    const d = tensorData(t, o.name)
    // every float tensor with more than one element is trained: torch's constant folding stores
    // transposed Linear weights and looked-up position rows as "onnx::MatMul_…"/"onnx::Add_…";
    // single numbers (scales, fill values) stay constants
    if (d.dtype === 'float32' && d.data.length > 1) params.push({ name, shape: [...d.shape], data: d.data as Float32Array })
    else constants.set(name, d)
  }
  if (params.length === 0) fail(o.name, 'has no float32 initializers: nothing to train')
  const inits = new Set((graph.initializer ?? []).map(t => t.name ?? ''))
  const feeds = (graph.input ?? []).filter(i => !inits.has(i.name ?? ''))
  const input = o.input ?? (feeds.length === 1 ? feeds[0].name ?? '' : fail(o.name, `has ${feeds.length} inputs (${feeds.map(f => f.name).join(', ')}): name the example input (--input)`))
  const iv = feeds.find(f => f.name === input) ?? fail(o.name, `has no input "${input}" (inputs: ${feeds.map(f => f.name).join(', ')})`)
  const dims = dimsOf(iv)
  if (dims.length < 1) fail(o.name, `input ${input} has no shape`)
  if (dims.slice(1).some(d => d === null)) fail(o.name, `input ${input} needs static sizes after the batch axis, got [${dims.map(d => d ?? '?').join(', ')}] (export with dynamic_axes only on axis 0)`)
  const inputSpec: TensorSpec = { name: input, dtype: ioDType(iv.type?.tensorType?.elemType, `input ${input}`, o.name), shape: ['B', ...(dims.slice(1) as number[])] }
  const out = (graph.output ?? [])[0] ?? fail(o.name, 'has no output')
  const outDims = dimsOf(out)
  const loss = o.loss ?? (outDims.length === 3 ? 'token_cross_entropy' : 'softmax_cross_entropy')
  const rank = LOSSES[loss].targetRank
  if (outDims.length !== rank + 1) fail(o.name, `output ${out.name ?? ''} has rank ${outDims.length}; loss ${loss} takes logits of rank ${rank + 1}`)
  const tshape = outDims.slice(1, rank)
  if (tshape.some(d => d === null)) fail(o.name, `output ${out.name ?? ''} needs static sizes after the batch axis`)
  const targetSpec: TensorSpec = { name: o.target ?? IO.y, dtype: 'int64', shape: ['B', ...(tshape as number[])] }
  if (targetSpec.name === input) fail(o.name, `target name ${targetSpec.name} is also the input's`)
  return { graph, opset, params, constants, inputSpec, targetSpec, output: out.name ?? '' }
}

/** Replays the graph's nodes on the given input and parameter values; returns the first output. */
function replay (p: Parsed, file: string, params: Readonly<Record<string, Value>>, input: Value): Value {
  const values = new Map<string, Value>(Object.entries(params))
  values.set(p.inputSpec.name, input)
  const get = (name: string, node: string): Value | null => {
    if (name === '') return null
    const v = values.get(name)
    if (v !== undefined) return v
    const c = p.constants.get(name)
    if (c !== undefined) {
      const made = constTensor(input, c)
      values.set(name, made)
      return made
    }
    return fail(file, `node ${node} reads "${name}", which nothing produces`)
  }
  for (const n of p.graph.node ?? []) {
    const opType = n.opType ?? ''
    const where = `${file}: node ${n.name ?? opType}`
    const attrs: Record<string, AttrValue> = {}
    for (const a of n.attribute ?? []) attrs[a.name ?? ''] = attrValue(a, where)
    if (opType === 'Constant') {
      // a known value, so shapes built from it stay static
      const a = attrs.value
      if (a?.kind !== 'tensor') fail(where, 'Constant without a tensor value')
      values.set((n.output ?? [])[0], constTensor(input, a.value))
      continue
    }
    let inputs = (n.input ?? []).map(name => get(name, n.name ?? opType))
    if (AXES_TO_INPUT.has(opType) && attrs.axes !== undefined) {
      // opset ≤ 17 writes the axes as an attribute, 18 as an input
      const axes = attrs.axes
      delete attrs.axes
      inputs = [inputs[0], int64s(input, axes.kind === 'ints' ? axes.value : [])]
    }
    const def = OP_TABLE.get(opKey(n.domain ?? '', opType))!
    const outs = apply(def, inputs, attrs)
    ;(n.output ?? []).forEach((name, i) => { if (name !== '' && outs[i] !== undefined) values.set(name, outs[i]) })
  }
  return values.get(p.output) ?? fail(file, `output ${p.output} is never produced`)
}

/**
 * Reads an ONNX forward graph and registers it: returns the spec that names it (by content hash)
 * and its initial parameters. Refuses, before building anything, an opset outside 13–18, an op
 * the builder does not know (naming it, its node and the supported set), inputs that are not
 * float32/int64 or not static after the batch axis, and an output the loss cannot take.
 */
export function importOnnx (bytes: Uint8Array, o: ImportOptions): { spec: OnnxSpec, init: Float32Array, layout: ParamLayout } {
  const p = parse(bytes, o)
  const id = createHash('sha256').update(bytes).digest('hex')
  const spec: OnnxSpec = { kind: 'onnx', id, name: o.name, input: p.inputSpec.name, target: p.targetSpec.name, loss: o.loss ?? (p.targetSpec.shape.length === 2 ? 'token_cross_entropy' : 'softmax_cross_entropy') }
  const layout = createLayout(p.params.map(t => ({ name: t.name, shape: t.shape })))
  const init = new Float32Array(layout.total)
  p.params.forEach((t, i) => init.set(t.data, layout.entries[i].offset))
  const def: ModelDef<OnnxSpec> = {
    inputs: () => [p.inputSpec],
    target: () => p.targetSpec,
    loss: spec.loss,
    metrics: spec.loss === 'token_cross_entropy' ? ['bits_per_byte', 'accuracy'] : ['accuracy'],
    layout: () => layout,
    init: () => init.slice(),
    forward: (_s, params, inputs) => replay(p, o.name, params, inputs[p.inputSpec.name]),
    validate: s => { if (s.id !== id) throw new SpecError(`model ${s.name}: file hash ${s.id.slice(0, 12)}… is not the loaded ${id.slice(0, 12)}…`) },
    // decay matrices, not biases and norms (rank-1 tensors)
    decays: name => (p.params.find(t => t.name === name)?.shape.length ?? 0) >= 2
  }
  REGISTRY.set(id, { spec, def, init })
  return { spec, init, layout }
}

/** The definition of an imported model, once importOnnx has loaded its file in this process. */
export function onnxModelDef (spec: OnnxSpec): ModelDef<OnnxSpec> {
  const hit = REGISTRY.get(spec.id)
  if (hit === undefined) throw new SpecError(`model ${spec.name} (sha256 ${spec.id.slice(0, 12)}…) is not loaded in this process: pass its file with --model`)
  return hit.def
}

/** The spec of a model file loaded in this process, by its sha256 (hex). */
export function registeredOnnx (id: string): OnnxSpec | undefined {
  return REGISTRY.get(id)?.spec
}
