// Element types, static shapes, tensor payloads and explicitly tagged attributes of the builder.
import { InvalidArgumentError } from './errors.js'
import type { GraphBuilder } from './builder.js'

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool'
export type FloatDType = 'float32' | 'float64'

/** ONNX TensorProto.DataType codes */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11
}

export function isFloat (dt: DType): dt is FloatDType {
  return dt === 'float32' || dt === 'float64'
}

/**
 * One dimension as far as it is known when the graph is built: a number, a symbol
 * (equal symbols mean equal sizes, e.g. 'B' for the batch) or null (unknown).
 */
export type Dim = number | string | null
/** undefined: not even the rank is known */
export type Shape = readonly Dim[] | undefined

export function isStatic (s: Shape): s is readonly number[] {
  return s !== undefined && s.every(d => typeof d === 'number')
}

export function numel (s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1)
}

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array

/** A tensor held in the graph itself (initializer, Constant node, tensor attribute). */
export interface TensorData {
  readonly dtype: DType
  readonly shape: readonly number[]
  readonly data: TypedData
}

/** Builds a TensorData from plain numbers, converting to the element type. */
export function tensor (dtype: DType, shape: readonly number[], values: ArrayLike<number> | TypedData): TensorData {
  const n = numel(shape)
  if (values.length !== n) throw new InvalidArgumentError(`tensor of shape [${shape.join(',')}] needs ${n} values, got ${values.length}`)
  let data: TypedData
  switch (dtype) {
    case 'float32': data = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>); break
    case 'float64': data = values instanceof Float64Array ? values : Float64Array.from(values as ArrayLike<number>); break
    case 'int32': data = values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>); break
    case 'bool': data = values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, v => (v !== 0 ? 1 : 0)); break
    case 'int64':
      data = values instanceof BigInt64Array
        ? values
        : BigInt64Array.from(Array.from(values as ArrayLike<number>, toInt64))
      break
  }
  return { dtype, shape: [...shape], data }
}

const INT64_MAX = (1n << 63n) - 1n
const INT64_MIN = -(1n << 63n)

/** JS numbers beyond 2^63 (e.g. 'slice to the end' as 1e19) saturate instead of wrapping. */
function toInt64 (v: number): bigint {
  if (v === Infinity) return INT64_MAX
  if (v === -Infinity) return INT64_MIN
  const b = BigInt(Math.trunc(v))
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b
}

/** Element i of a tensor as a JS number (int64 narrowed; fine for shapes and axes). */
export function elementAt (t: TensorData, i: number): number {
  return Number(t.data[i])
}

export function toNumbers (t: TensorData): number[] {
  return Array.from({ length: t.data.length }, (_, i) => elementAt(t, i))
}

/**
 * Attribute values carry their ONNX type explicitly: JS cannot tell 1.0 from 1, and ORT
 * rejects a float attribute that arrives as an int ("Mismatched attribute type").
 * Plain numbers are therefore not accepted by the type system at all.
 */
export type AttrValue =
  | { readonly kind: 'float', readonly value: number }
  | { readonly kind: 'int', readonly value: number }
  | { readonly kind: 'floats', readonly value: readonly number[] }
  | { readonly kind: 'ints', readonly value: readonly number[] }
  | { readonly kind: 'string', readonly value: string }
  | { readonly kind: 'tensor', readonly value: TensorData }
  | { readonly kind: 'graph', readonly value: GraphBuilder }

export type Attrs = Readonly<Record<string, AttrValue>>

export const attr = {
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  int: (value: number | boolean): AttrValue => {
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : value
    if (!Number.isInteger(v)) throw new InvalidArgumentError(`int attribute got non-integer ${v}`)
    return { kind: 'int', value: v }
  },
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value: [...value] }),
  ints: (value: readonly number[]): AttrValue => {
    for (const v of value) if (!Number.isInteger(v)) throw new InvalidArgumentError(`ints attribute got non-integer ${v}`)
    return { kind: 'ints', value: [...value] }
  },
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  tensor: (value: TensorData): AttrValue => ({ kind: 'tensor', value }),
  graph: (value: GraphBuilder): AttrValue => ({ kind: 'graph', value })
} as const

/** Reads an int attribute with a default (rules use this, not raw access). */
export function intAttr (attrs: Attrs, name: string, dflt: number): number {
  const a = attrs[name]
  if (a === undefined) return dflt
  if (a.kind !== 'int') throw new InvalidArgumentError(`attribute ${name} is ${a.kind}, expected int`)
  return a.value
}

export function floatAttr (attrs: Attrs, name: string, dflt: number): number {
  const a = attrs[name]
  if (a === undefined) return dflt
  if (a.kind !== 'float') throw new InvalidArgumentError(`attribute ${name} is ${a.kind}, expected float`)
  return a.value
}

export function intsAttr (attrs: Attrs, name: string): number[] | undefined {
  const a = attrs[name]
  if (a === undefined) return undefined
  if (a.kind !== 'ints') throw new InvalidArgumentError(`attribute ${name} is ${a.kind}, expected ints`)
  return [...a.value]
}

export function stringAttr (attrs: Attrs, name: string, dflt: string): string {
  const a = attrs[name]
  if (a === undefined) return dflt
  if (a.kind !== 'string') throw new InvalidArgumentError(`attribute ${name} is ${a.kind}, expected string`)
  return a.value
}

/** Normalises a possibly negative axis against a rank. */
export function normAxis (axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis
  if (a < 0 || a >= rank) throw new InvalidArgumentError(`axis ${axis} out of range for rank ${rank}`)
  return a
}
