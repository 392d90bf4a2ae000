// Pure parsers for CLI values (numbers, enumerations and model names, each with a clear error) and help texts of settings.
import { RUN_DEFAULTS, RUN_SETTING_KEYS, RunSettingsSchema, type RunSettingKey } from '../round/index.js'
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

/** How a help text shows a default value. */
export function formatDefault (value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value)
}

/** A setting's help with its default, the one format `init --help` and `sim --help` share; nothing added for a derived (unset) default. */
export function helpWithDefault (help: string, value: unknown): string {
  return value === undefined ? help : `${help} (default: ${formatDefault(value)})`
}

/** Help of one run setting: the schema's description and default (src/round/settings.ts), never a literal here. */
export function runSettingHelp (key: RunSettingKey): string {
  return helpWithDefault(RunSettingsSchema.shape[key].description ?? '', RUN_DEFAULTS[key])
}

/** One line per run setting, `name` spelling the key as the command takes it (init: `--set key=`, sim: `--flag`). */
export function runSettingsHelp (name: (key: RunSettingKey) => string): string {
  const rows = RUN_SETTING_KEYS.map(k => [name(k), runSettingHelp(k)] as const)
  const width = Math.max(...rows.map(([n]) => n.length))
  return rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`).join('\n')
}

/** The node config fields beyond the run settings (NodeConfigSchema), one line each with its default, for init --help. */
export function nodeConfigHelp (shape: Record<string, { description?: string, parse: (x: unknown) => unknown }>, skip: readonly string[]): string {
  const rows = Object.entries(shape).filter(([k]) => !skip.includes(k)).map(([k, f]) => {
    let d: unknown
    try { d = f.parse(undefined) } catch {}
    return [k, Array.isArray(d) && d.length === 0 ? `${f.description ?? ''} (default: none)` : helpWithDefault(f.description ?? '', d)] as const
  })
  const width = Math.max(...rows.map(([n]) => n.length))
  return rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`).join('\n')
}
