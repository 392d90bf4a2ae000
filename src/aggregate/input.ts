// Updates as the fold sees them, and the canonical order that makes every fold recomputable bit for bit.
import { AggregateError, AggregateErrorCode } from './errors.js'

/** An update's identity: its blob CID as text, or raw bytes (e.g. a multihash). */
export type UpdateId = string | Uint8Array

/** One node's pseudo-gradient Δ = θ_global − θ_local with the number of samples behind it. */
export interface UpdateInput {
  readonly id: UpdateId
  readonly update: Float32Array
  /** sample count (or any non-negative weight) */
  readonly weight: number
}

const utf8 = new TextEncoder()

/** The bytes an id is ordered by: UTF-8 for text, so the order is the same in any language. */
export function idBytes (id: UpdateId): Uint8Array {
  return typeof id === 'string' ? utf8.encode(id) : id
}

/** Text form of an id for messages and error fields. */
export function idToString (id: UpdateId): string {
  if (typeof id === 'string') return id
  let hex = ''
  for (const b of id) hex += b.toString(16).padStart(2, '0')
  return hex
}

/** Lexicographic byte order (a shorter prefix first). */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/** Throws NonFinite unless every value is finite. */
export function checkFinite (update: Float32Array, id?: UpdateId): void {
  // a running sum turns any NaN or ±Infinity into a non-finite total; float32 values cannot overflow it
  let s = 0
  for (let j = 0; j < update.length; j++) s += update[j]
  if (Number.isFinite(s)) return
  for (let j = 0; j < update.length; j++) {
    if (!Number.isFinite(update[j])) {
      const who = id === undefined ? undefined : idToString(id)
      throw new AggregateError(AggregateErrorCode.NonFinite, `update ${who ?? ''} has ${update[j]} at coordinate ${j}`, who)
    }
  }
}

export function checkWeight (weight: number, id?: UpdateId): void {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    const who = id === undefined ? undefined : idToString(id)
    throw new AggregateError(AggregateErrorCode.BadWeight, `update ${who ?? ''} has weight ${String(weight)}; weights must be finite and ≥ 0`, who)
  }
}

/**
 * Validates a set of updates and returns them sorted by id. Every rule folds in this
 * order, which is what makes a commit independent of the order updates arrived in:
 * float64 addition is deterministic but not associative, so the order must be fixed.
 */
export function canonicalInputs (inputs: readonly UpdateInput[]): UpdateInput[] {
  if (inputs.length === 0) throw new AggregateError(AggregateErrorCode.NoUpdates, 'no updates to fold')
  const length = inputs[0].update.length
  const keyed = inputs.map(input => {
    if (input.update.length !== length) {
      throw new AggregateError(AggregateErrorCode.LengthMismatch, `update ${idToString(input.id)} has ${input.update.length} values, the first has ${length}`, idToString(input.id))
    }
    checkWeight(input.weight, input.id)
    checkFinite(input.update, input.id)
    return { input, key: idBytes(input.id) }
  })
  keyed.sort((a, b) => compareBytes(a.key, b.key))
  for (let i = 1; i < keyed.length; i++) {
    if (compareBytes(keyed[i - 1].key, keyed[i].key) === 0) {
      throw new AggregateError(AggregateErrorCode.DuplicateId, `update ${idToString(keyed[i].input.id)} is included twice`, idToString(keyed[i].input.id))
    }
  }
  return keyed.map(k => k.input)
}
