// Pure parsers for CLI values: numbers, enumerations and model names, each with a clear error.
import { UsageError } from './errors.js'

export function parseIntFlag (name: string, raw: string | number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const s = String(raw).trim()
  if (!/^-?\d+$/.test(s)) throw new UsageError(`--${name} must be an integer, got "${raw}"`)
  const n = Number(s)
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

export function parseFloatFlag (name: string, raw: string | number, min = -Infinity, max = Infinity, exclusiveMin = false): number {
  const s = String(raw).trim()
  const n = Number(s)
  if (s === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a finite number, got "${raw}"`)
  if (n < min || (exclusiveMin && n === min) || n > max) {
    throw new UsageError(`--${name} must be ${exclusiveMin ? '>' : '≥'} ${min}${max !== Infinity ? ` and ≤ ${max}` : ''}, got ${n}`)
  }
  return n
}

export function parseChoice<T extends string> (name: string, raw: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(raw)) return raw as T
  throw new UsageError(`unknown --${name} "${raw}" (expected one of: ${choices.join(', ')})`)
}
