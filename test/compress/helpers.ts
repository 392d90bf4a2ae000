// Shared fixtures for the compress tests: seeded vectors, a one-tensor layout, error norms.
import { createLayout, type ParamLayout } from '../../src/tensor/layout.js'
import { Rng } from '../../src/tensor/rng.js'

export function layoutOf (n: number, name = 'w'): ParamLayout {
  return createLayout([{ name, shape: [n] }])
}

export function gaussian (n: number, seed: number, sigma = 1): Float32Array {
  const rng = new Rng(seed)
  const x = new Float32Array(n)
  for (let i = 0; i < n; i++) x[i] = sigma * rng.normal()
  return x
}

/** Student-t-like heavy tails (normal / sqrt(gamma)): exercises outlier-dominated blocks. */
export function heavyTailed (n: number, seed: number): Float32Array {
  const rng = new Rng(seed)
  const x = new Float32Array(n)
  for (let i = 0; i < n; i++) x[i] = rng.normal() / Math.sqrt(rng.gamma(1) + 1e-3)
  return x
}

export function norm (a: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * a[i]
  return Math.sqrt(s)
}

/** ||a − b|| / ||b|| */
export function relL2 (a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0
  let s = 0
  for (let i = 0; i < b.length; i++) {
    e += (a[i] - b[i]) ** 2
    s += b[i] * b[i]
  }
  return Math.sqrt(e / s)
}

export function bitEqual (a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length)
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length)
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false
  return true
}
