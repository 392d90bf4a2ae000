// Turns a GraphBuilder into an ONNX ModelProto (IR 8, opset 18) and its protobuf bytes.
import onnxProto from 'onnx-proto'
import { GraphBuilder, type Value } from './builder.js'
import { InvalidArgumentError } from './errors.js'
import { ONNX_DTYPE, type AttrValue, type Shape, type TensorData } from './types.js'

const { onnx } = onnxProto

export const IR_VERSION = 8
export const DEFAULT_OPSET = 18

/** onnx.AttributeProto.AttributeType codes */
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7 } as const

export interface SerializeOptions {
  /** default-domain opset; reductions and Split take axes/splits as inputs from 18 on */
  opset?: number
  /** extra domains, e.g. { 'com.microsoft': 1 } */
  domains?: Record<string, number>
  producerName?: string
  docString?: string
  /** ModelProto metadata_props, e.g. the model spec an exported file was made from */
  metadata?: Record<string, string>
}

export function tensorProto (t: TensorData, name = ''): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
  // ONNX raw_data is little-endian, as is every platform Node runs on here
  return { name, dims: [...t.shape], dataType: ONNX_DTYPE[t.dtype], rawData: bytes.slice() }
}

function typeProto (dtype: Value['dtype'], shape: Shape): onnxProto.onnx.ITypeProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ONNX_DTYPE[dtype] }
  if (shape !== undefined) {
    tensorType.shape = {
      dim: shape.map(d => typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})
    }
  }
  return { tensorType }
}

function valueInfo (v: Value): onnxProto.onnx.IValueInfoProto {
  return { name: v.name, type: typeProto(v.dtype, v.shape) }
}

function attributeProto (name: string, a: AttrValue): onnxProto.onnx.IAttributeProto {
  switch (a.kind) {
    case 'float': return { name, type: ATTR_TYPE.float, f: a.value }
    case 'int': return { name, type: ATTR_TYPE.int, i: a.value }
    case 'floats': return { name, type: ATTR_TYPE.floats, floats: [...a.value] }
    case 'ints': return { name, type: ATTR_TYPE.ints, ints: [...a.value] }
    case 'string': return { name, type: ATTR_TYPE.string, s: new TextEncoder().encode(a.value) }
    case 'tensor': return { name, type: ATTR_TYPE.tensor, t: tensorProto(a.value) }
    case 'graph': return { name, type: ATTR_TYPE.graph, g: graphProto(a.value) }
  }
}

/** The GraphProto of g (subgraphs recursively through graph attributes). */
export function graphProto (g: GraphBuilder): onnxProto.onnx.IGraphProto {
  if (g.outputs.length === 0) throw new InvalidArgumentError(`graph "${g.name}" has no outputs`)
  return {
    name: g.name,
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    initializer: g.initializers.map(i => tensorProto(i.data, i.value.name)),
    node: g.nodes.map(n => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      input: trimOptional(n.inputs.map(v => v === null ? '' : v.name)),
      output: n.outputs.map(v => v.name),
      attribute: Object.entries(n.attrs).map(([k, a]) => attributeProto(k, a))
    }))
  }
}

/** Omitted optional inputs at the end are dropped rather than written as ''. */
function trimOptional (names: string[]): string[] {
  let n = names.length
  while (n > 0 && names[n - 1] === '') n--
  return names.slice(0, n)
}

function usedDomains (g: GraphBuilder, acc: Set<string>): Set<string> {
  for (const n of g.nodes) {
    if (n.domain !== '') acc.add(n.domain)
    for (const a of Object.values(n.attrs)) if (a.kind === 'graph') usedDomains(a.value, acc)
  }
  return acc
}

export function modelProto (g: GraphBuilder, opts: SerializeOptions = {}): onnxProto.onnx.IModelProto {
  if (g.parent !== undefined) throw new InvalidArgumentError(`graph "${g.name}" is a subgraph, serialize its root`)
  const domains = { ...opts.domains }
  for (const d of usedDomains(g, new Set())) {
    if (domains[d] === undefined) throw new InvalidArgumentError(`graph uses domain "${d}" without an opset version in options.domains`)
  }
  return {
    irVersion: IR_VERSION,
    producerName: opts.producerName ?? 'tapestry',
    docString: opts.docString ?? '',
    opsetImport: [
      { domain: '', version: opts.opset ?? DEFAULT_OPSET },
      ...Object.entries(domains).map(([domain, version]) => ({ domain, version }))
    ],
    graph: graphProto(g),
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value }))
  }
}

/** Protobuf bytes ready for `InferenceSession.create(bytes)`. */
export function serializeModel (g: GraphBuilder, opts: SerializeOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(modelProto(g, opts))).finish()
}

/** Parses model bytes back (tests inspect node types and attributes with it). */
export function decodeModel (bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes)
}
