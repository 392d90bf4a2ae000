// Seeded synthetic updates for aggregate/ tests, plus byte-level comparison helpers.
import { Rng } from '../../src/tensor/rng.js'
import type { UpdateInput } from '../../src/aggregate/index.js'

/** n honest-looking updates of length p: a shared direction plus per-node noise, integer weights. */
export function makeUpdates (n: number, p: number, seed: number | string, opts: { scale?: number, noise?: number } = {}): UpdateInput[] {
  const rng = new Rng(seed)
  const scale = opts.scale ?? 0.01
  const noise = opts.noise ?? 0.3
  const base = Float32Array.from({ length: p }, () => rng.normal() * scale)
  return Array.from({ length: n }, (_, i) => ({
    id: `bafkupdate${String(i).padStart(3, '0')}${rng.u32().toString(36)}`,
    update: Float32Array.from(base, v => v + rng.normal() * scale * noise),
    weight: 1 + rng.int(500)
  }))
}

/** The same inputs in another order (seeded Fisher–Yates). */
export function permute<T> (items: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffle([...items]) as T[]
}

export function bytes (a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength)
}

export function sameBytes (a: Float32Array, b: Float32Array): boolean {
  return bytes(a).equals(bytes(b))
}
