// The graph under construction: values, nodes, inputs, outputs, and nested subgraphs (Loop bodies).
import { InvalidArgumentError, ScopeError } from './errors.js'
import type { Attrs, DType, Shape, TensorData } from './types.js'

/** One tensor in a graph. Nodes hold Value objects, so a name can change until serialization. */
export class Value {
  name: string
  readonly dtype: DType
  readonly shape: Shape
  readonly graph: GraphBuilder
  /** the node that computes it; undefined for graph inputs and initializers */
  producer: NodeRecord | undefined
  /** the value itself when known while building (Constant nodes, initializers) */
  readonly constData: TensorData | undefined
  /** set on the output of Shape(v): lets Reshape/Expand by it keep v's static shape */
  shapeSource: Value | undefined

  constructor (graph: GraphBuilder, name: string, dtype: DType, shape: Shape, constData?: TensorData) {
    this.graph = graph
    this.name = name
    this.dtype = dtype
    this.shape = shape === undefined ? undefined : [...shape]
    this.constData = constData
  }

  get rank (): number | undefined {
    return this.shape?.length
  }
}

export interface NodeRecord {
  readonly opType: string
  readonly domain: string
  readonly name: string
  /** null: an omitted optional input (serialized as '') */
  readonly inputs: ReadonlyArray<Value | null>
  readonly outputs: readonly Value[]
  readonly attrs: Attrs
}

export interface OutputInfo {
  readonly dtype: DType
  readonly shape: Shape
}

/** Names are unique across a graph and all its subgraphs: ORT resolves outer-scope names. */
class NameScope {
  private readonly used = new Set<string>()
  private readonly counters = new Map<string, number>()

  fresh (prefix: string): string {
    let n = this.counters.get(prefix) ?? 0
    let name: string
    do { name = `${prefix}_${n++}` } while (this.used.has(name))
    this.counters.set(prefix, n)
    this.used.add(name)
    return name
  }

  reserve (name: string): void {
    if (name === '') throw new InvalidArgumentError('empty tensor name')
    if (this.used.has(name)) throw new ScopeError(`tensor name "${name}" is already used`)
    this.used.add(name)
  }

  release (name: string): void {
    this.used.delete(name)
  }
}

export interface Initializer {
  readonly value: Value
  readonly data: TensorData
}

export class GraphBuilder {
  readonly name: string
  readonly parent: GraphBuilder | undefined
  readonly nodes: NodeRecord[] = []
  readonly inputs: Value[] = []
  readonly outputs: Value[] = []
  readonly initializers: Initializer[] = []
  /** per-graph cache for derived values (Shape(x), scalar constants) so rules do not repeat them */
  readonly memo = new Map<string, Value>()
  private readonly names: NameScope

  constructor (name = 'graph', parent?: GraphBuilder) {
    this.name = name
    this.parent = parent
    this.names = parent?.names ?? new NameScope()
  }

  /** A graph nested in this one (e.g. a Loop body); it may read this graph's values. */
  subgraph (name: string): GraphBuilder {
    return new GraphBuilder(name, this)
  }

  /** True when v is visible here: defined in this graph or an enclosing one. */
  sees (v: Value): boolean {
    for (let g: GraphBuilder | undefined = this; g !== undefined; g = g.parent) if (v.graph === g) return true
    return false
  }

  freshName (prefix: string): string {
    return this.names.fresh(prefix)
  }

  input (name: string, dtype: DType, shape: Shape): Value {
    this.names.reserve(name)
    const v = new Value(this, name, dtype, shape)
    this.inputs.push(v)
    return v
  }

  /** A graph input with a generated unique name (subgraph inputs, whose names nobody feeds). */
  freshInput (prefix: string, dtype: DType, shape: Shape): Value {
    const v = new Value(this, this.names.fresh(prefix), dtype, shape)
    this.inputs.push(v)
    return v
  }

  /** A named tensor stored in the model (weights of an exported inference model). */
  initializer (name: string, data: TensorData): Value {
    this.names.reserve(name)
    const v = new Value(this, name, data.dtype, data.shape, data)
    this.initializers.push({ value: v, data })
    return v
  }

  /** A Constant node; small constants are shared within the graph and its subgraphs. */
  constant (data: TensorData): Value {
    const small = data.data.length <= 16
    const key = small ? `const:${data.dtype}:${data.shape.join('x')}:${Array.from(data.data as ArrayLike<number | bigint>).join(',')}` : undefined
    if (key !== undefined) {
      for (let g: GraphBuilder | undefined = this; g !== undefined; g = g.parent) {
        const hit = g.memo.get(key)
        if (hit !== undefined) return hit
      }
    }
    const name = this.names.fresh('const')
    const v = new Value(this, name, data.dtype, data.shape, data)
    const node: NodeRecord = {
      opType: 'Constant',
      domain: '',
      name: `${name}_node`,
      inputs: [],
      outputs: [v],
      attrs: { value: { kind: 'tensor', value: data } }
    }
    v.producer = node
    this.nodes.push(node)
    if (key !== undefined) this.memo.set(key, v)
    return v
  }

  /**
   * Appends a node. Output types come from the caller (op wrappers run their shape
   * inference first), so the builder itself needs no op table.
   */
  node (opType: string, inputs: ReadonlyArray<Value | null>, attrs: Attrs, outputs: readonly OutputInfo[], domain = ''): Value[] {
    for (const v of inputs) {
      if (v !== null && !this.sees(v)) {
        throw new ScopeError(`${opType}: input "${v.name}" belongs to graph "${v.graph.name}", not visible from "${this.name}"`)
      }
    }
    const prefix = opType.toLowerCase()
    const outs = outputs.map(o => new Value(this, this.names.fresh(prefix), o.dtype, o.shape))
    const node: NodeRecord = { opType, domain, name: `${outs[0]?.name ?? this.names.fresh(prefix)}_node`, inputs: [...inputs], outputs: outs, attrs }
    for (const o of outs) o.producer = node
    this.nodes.push(node)
    return outs
  }

  /**
   * Marks v as a graph output under `name`. The value is renamed in place when it is an
   * ordinary intermediate, which avoids an Identity copy of large tensors; otherwise an
   * Identity node gives it the new name.
   */
  output (v: Value, name?: string): Value {
    if (!this.sees(v)) throw new ScopeError(`output "${v.name}" is not visible from graph "${this.name}"`)
    let out = v
    if (name !== undefined && name !== v.name) {
      const renamable = v.graph === this && v.producer !== undefined && v.producer.opType !== 'Constant' &&
        !this.outputs.includes(v)
      if (renamable) {
        this.names.reserve(name)
        this.names.release(v.name)
        v.name = name
      } else {
        this.names.reserve(name)
        out = new Value(this, name, v.dtype, v.shape)
        const node: NodeRecord = { opType: 'Identity', domain: '', name: `${name}_node`, inputs: [v], outputs: [out], attrs: {} }
        out.producer = node
        this.nodes.push(node)
      }
    } else if (v.graph !== this || this.outputs.includes(v)) {
      // an outer value or a repeated output still needs its own tensor here
      out = this.node('Identity', [v], {}, [{ dtype: v.dtype, shape: v.shape }])[0]
    }
    this.outputs.push(out)
    return out
  }
}
