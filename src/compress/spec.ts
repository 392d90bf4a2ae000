// Codec spec strings ("topk:0.01+q2"): the grammar, its parser and the canonical form that
// travels in every envelope so that any peer can decode any update.
import { SpecError } from './errors.js'

/**
 * Value codecs: how an array of floats (the whole vector, or the top-k values) becomes bytes.
 * Adding an id here without adding a codec to VALUE_CODECS (values/index.ts) fails to compile.
 */
export const VALUE_CODEC_IDS = ['fp32', 'fp16', 'int8', 'q8', 'q4', 'q2', 'q1'] as const
export type ValueCodecId = typeof VALUE_CODEC_IDS[number]

/** `near`: deterministic nearest level (least MSE, biased); `stoch`: unbiased, seeded from state. */
export type Rounding = 'near' | 'stoch'

export interface ValueSpec {
  readonly id: ValueCodecId
  /** values per scale block (int8, q*); 0 for codecs without blocks */
  readonly block: number
  readonly rounding: Rounding
}

export interface TopkSpec {
  /** fraction of elements sent, 0 < fraction ≤ 1 */
  readonly fraction: number
  /** select per chunk of this many elements instead of globally; undefined = global */
  readonly chunk: number | undefined
}

export interface CodecSpec {
  /** canonical text: what encoders write into the envelope and decoders require */
  readonly text: string
  /** undefined = dense: the value codec sees the whole vector */
  readonly topk: TopkSpec | undefined
  readonly values: ValueSpec
}

/** Longest spec text accepted: bounds the work a hostile envelope can ask for. */
export const MAX_SPEC_LENGTH = 64
/** @default 256 values per scale block: 8 bytes of scale per 256 values stays ≤ 12.5% of q2 value bits */
export const DEFAULT_BLOCK = 256
export const MIN_BLOCK = 16
export const MAX_BLOCK = 65536
export const MIN_CHUNK = 16
export const MAX_CHUNK = 1 << 24
/** Largest vector the codecs handle: indices and index deltas then fit in 31 bits. */
export const MAX_ELEMENTS = 0x7fffffff

const BLOCKED: ReadonlySet<ValueCodecId> = new Set(['int8', 'q8', 'q4', 'q2', 'q1'])
const ROUNDED: ReadonlySet<ValueCodecId> = new Set(['int8', 'q8', 'q4', 'q2'])

/**
 * Parses a spec. Grammar (no spaces, case-sensitive):
 *   spec   = [ "topk:" fraction *( ":chunk=" uint ) "+" ] values  |  "topk:" fraction [":chunk=" uint]
 *   values = "fp32" | "fp16" | ( "int8" | "q8" | "q4" | "q2" | "q1" ) *( ":block=" uint | ":round=" ("near"|"stoch") )
 * A bare "topk:F" means "topk:F+fp32". Throws SpecError (code ERR_COMPRESS_BAD_SPEC).
 */
export function parseSpec (spec: string): CodecSpec {
  if (typeof spec !== 'string') throw new SpecError(String(spec), 'not a string')
  if (spec.length === 0) throw new SpecError(spec, 'empty')
  if (spec.length > MAX_SPEC_LENGTH) throw new SpecError(spec, `longer than ${MAX_SPEC_LENGTH} characters`)
  const stages = spec.split('+')
  if (stages.length > 2) throw new SpecError(spec, 'at most two stages: [topk+]values')
  let topk: TopkSpec | undefined
  let valueText: string
  if (stages.length === 2) {
    if (!stages[0].startsWith('topk')) throw new SpecError(spec, `first of two stages must be topk, got "${stages[0]}"`)
    topk = parseTopk(spec, stages[0])
    valueText = stages[1]
  } else if (stages[0].startsWith('topk')) {
    topk = parseTopk(spec, stages[0])
    valueText = 'fp32'
  } else {
    valueText = stages[0]
  }
  const values = parseValues(spec, valueText)
  return { text: formatSpec(topk, values), topk, values }
}

/** Like parseSpec, but also refuses non-canonical text: one update has exactly one encoding. */
export function parseCanonicalSpec (spec: string): CodecSpec {
  const parsed = parseSpec(spec)
  if (parsed.text !== spec) throw new SpecError(spec, `not canonical (canonical form is "${parsed.text}")`)
  return parsed
}

function parseTopk (spec: string, stage: string): TopkSpec {
  const parts = stage.split(':')
  if (parts[0] !== 'topk') throw new SpecError(spec, `unknown stage "${parts[0]}"`)
  if (parts.length < 2) throw new SpecError(spec, 'topk needs a fraction, e.g. topk:0.01')
  const fraction = parseFraction(spec, parts[1])
  let chunk: number | undefined
  for (const opt of parts.slice(2)) {
    const [key, value] = splitOption(spec, opt)
    if (key !== 'chunk') throw new SpecError(spec, `topk has no option "${key}" (known: chunk)`)
    if (chunk !== undefined) throw new SpecError(spec, 'chunk given twice')
    chunk = parseUint(spec, 'chunk', value, MIN_CHUNK, MAX_CHUNK)
  }
  return { fraction, chunk }
}

function parseValues (spec: string, stage: string): ValueSpec {
  const parts = stage.split(':')
  const id = parts[0] as ValueCodecId
  if (!(VALUE_CODEC_IDS as readonly string[]).includes(id)) {
    throw new SpecError(spec, `unknown value codec "${parts[0]}" (known: ${VALUE_CODEC_IDS.join(', ')})`)
  }
  let block: number | undefined
  let rounding: Rounding | undefined
  for (const opt of parts.slice(1)) {
    const [key, value] = splitOption(spec, opt)
    if (key === 'block' && BLOCKED.has(id)) {
      if (block !== undefined) throw new SpecError(spec, 'block given twice')
      block = parseUint(spec, 'block', value, MIN_BLOCK, MAX_BLOCK)
    } else if (key === 'round' && ROUNDED.has(id)) {
      if (rounding !== undefined) throw new SpecError(spec, 'round given twice')
      if (value !== 'near' && value !== 'stoch') throw new SpecError(spec, `round must be near or stoch, got "${value}"`)
      rounding = value
    } else {
      throw new SpecError(spec, `${id} has no option "${key}"`)
    }
  }
  return { id, block: BLOCKED.has(id) ? (block ?? DEFAULT_BLOCK) : 0, rounding: rounding ?? 'near' }
}

function splitOption (spec: string, opt: string): [string, string] {
  const eq = opt.indexOf('=')
  if (eq <= 0 || eq === opt.length - 1) throw new SpecError(spec, `option "${opt}" is not key=value`)
  return [opt.slice(0, eq), opt.slice(eq + 1)]
}

function parseUint (spec: string, name: string, text: string, min: number, max: number): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new SpecError(spec, `${name} must be a positive integer, got "${text}"`)
  const n = Number(text)
  if (n < min || n > max) throw new SpecError(spec, `${name} must be in [${min}, ${max}], got ${n}`)
  return n
}

function parseFraction (spec: string, text: string): number {
  if (!/^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$/.test(text)) {
    throw new SpecError(spec, `topk fraction must be a decimal number, got "${text}"`)
  }
  const f = Number(text)
  if (!(f > 0 && f <= 1)) throw new SpecError(spec, `topk fraction must be in (0, 1], got ${text}`)
  return f
}

/** Canonical text: defaults omitted, options in fixed order, numbers as JS String(). */
export function formatSpec (topk: TopkSpec | undefined, values: ValueSpec): string {
  let v: string = values.id
  if (BLOCKED.has(values.id) && values.block !== DEFAULT_BLOCK) v += `:block=${values.block}`
  if (ROUNDED.has(values.id) && values.rounding !== 'near') v += `:round=${values.rounding}`
  if (topk === undefined) return v
  let t = `topk:${String(topk.fraction)}`
  if (topk.chunk !== undefined) t += `:chunk=${topk.chunk}`
  return `${t}+${v}`
}
