// Named layout of a flat parameter vector: lets every layer diff, compress and average
// parameters as one Float32Array while still knowing which tensor each range belongs to.
import { createHash } from 'node:crypto'
import { LayoutError } from './errors.js'

export interface LayoutEntry {
  readonly name: string
  readonly shape: readonly number[]
  /** offset in elements into the flat vector */
  readonly offset: number
  /** number of elements (product of shape) */
  readonly size: number
}

export interface ParamLayout {
  readonly entries: readonly LayoutEntry[]
  /** total elements */
  readonly total: number
}

/** Builds a layout from (name, shape) pairs in the given order. */
export function createLayout (tensors: ReadonlyArray<{ name: string, shape: readonly number[] }>): ParamLayout {
  const seen = new Set<string>()
  const entries: LayoutEntry[] = []
  let offset = 0
  for (const t of tensors) {
    if (seen.has(t.name)) throw new LayoutError(`duplicate tensor name "${t.name}"`)
    seen.add(t.name)
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d <= 0) throw new LayoutError(`tensor "${t.name}" has bad dimension ${d}`)
    }
    const size = t.shape.reduce((a, b) => a * b, 1)
    entries.push({ name: t.name, shape: [...t.shape], offset, size })
    offset += size
  }
  return { entries, total: offset }
}

/** Canonical text form: the input of layoutHash, also stored in checkpoints. */
export function layoutToString (layout: ParamLayout): string {
  return layout.entries.map(e => `${e.name}:${e.shape.join('x')}`).join(',')
}

/** 32-byte SHA-256 over the canonical form: a payload for another model is refused by it. */
export function layoutHash (layout: ParamLayout): Uint8Array {
  // node:crypto hashing is pure computation, no I/O
  return new Uint8Array(createHash('sha256').update(layoutToString(layout)).digest())
}
