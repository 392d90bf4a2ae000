// Typed errors of the compress layer: every refusal carries a stable `code` so callers and
// tests branch on it (and peers can be scored by it), never on message text.

/**
 * Stable error codes, `ERR_COMPRESS_<WHAT>` and unique across the project. Values are part of the
 * public API (CLI stderr, control API; none travels to peers): never rename, only add.
 */
export const CompressErrorCode = {
  /** a codec spec string does not parse, or is not in canonical form where one is required */
  BAD_SPEC: 'ERR_COMPRESS_BAD_SPEC',
  /** the encoder was handed something unusable: wrong length, NaN/Inf, bad residual */
  BAD_INPUT: 'ERR_COMPRESS_BAD_INPUT',
  /** the envelope is larger than the caller's (or the layout's) byte cap */
  TOO_LARGE: 'ERR_COMPRESS_TOO_LARGE',
  /** the envelope is not a parseable protobuf message */
  BAD_ENVELOPE: 'ERR_COMPRESS_BAD_ENVELOPE',
  /** envelope version this decoder does not speak */
  VERSION: 'ERR_COMPRESS_VERSION',
  /** layout hash or element count belongs to another model */
  LAYOUT_MISMATCH: 'ERR_COMPRESS_LAYOUT_MISMATCH',
  /** payload ends before its content does */
  TRUNCATED: 'ERR_COMPRESS_TRUNCATED',
  /** payload has bytes after its content */
  TRAILING_BYTES: 'ERR_COMPRESS_TRAILING_BYTES',
  /** an element count larger than the spec allows for this layout */
  BAD_COUNT: 'ERR_COMPRESS_BAD_COUNT',
  /** a field outside its domain: bit width > 31, int8 code -128, non-zero padding bits */
  MALFORMED: 'ERR_COMPRESS_MALFORMED',
  /** a sparse index at or beyond the layout's element count */
  INDEX_RANGE: 'ERR_COMPRESS_INDEX_RANGE',
  /** a sparse index equal to its predecessor (indices must strictly increase) */
  INDEX_ORDER: 'ERR_COMPRESS_INDEX_ORDER',
  /** a scale or value that is NaN or ±Infinity, or a scale whose largest level overflows */
  NON_FINITE: 'ERR_COMPRESS_NON_FINITE'
} as const

export type CompressErrorCode = typeof CompressErrorCode[keyof typeof CompressErrorCode]

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(CompressErrorCode))

/** Base of every error thrown by src/compress. `detail` holds machine-readable fields. */
export class CompressError extends Error {
  readonly code: CompressErrorCode
  readonly detail: Readonly<Record<string, string | number | bigint | boolean>>

  constructor (code: CompressErrorCode, message: string, detail: Record<string, string | number | bigint | boolean> = {}) {
    super(message)
    this.name = 'CompressError'
    this.code = code
    this.detail = detail
  }
}

/** A spec string was refused; `detail.spec` is the input, `detail.reason` why. */
export class SpecError extends CompressError {
  constructor (spec: string, reason: string) {
    super(CompressErrorCode.BAD_SPEC, `bad codec spec "${clip(spec)}": ${reason}`, { spec: clip(spec), reason })
    this.name = 'SpecError'
  }
}

/** The local caller passed an unusable vector or state to the encoder. */
export class InputError extends CompressError {
  constructor (reason: string, detail: Record<string, string | number> = {}) {
    super(CompressErrorCode.BAD_INPUT, `cannot encode: ${reason}`, detail)
    this.name = 'InputError'
  }
}

/** The envelope around a payload was refused before the payload was looked at. */
export class EnvelopeError extends CompressError {
  constructor (code: typeof CompressErrorCode.TOO_LARGE | typeof CompressErrorCode.BAD_ENVELOPE |
  typeof CompressErrorCode.VERSION | typeof CompressErrorCode.LAYOUT_MISMATCH,
  message: string, detail: Record<string, string | number | bigint> = {}) {
    super(code, message, detail)
    this.name = 'EnvelopeError'
  }
}

/** The codec payload itself is malformed; `detail.section` names where. */
export class PayloadError extends CompressError {
  constructor (code: Exclude<CompressErrorCode, typeof CompressErrorCode.BAD_SPEC | typeof CompressErrorCode.BAD_INPUT |
  typeof CompressErrorCode.TOO_LARGE | typeof CompressErrorCode.BAD_ENVELOPE | typeof CompressErrorCode.VERSION |
  typeof CompressErrorCode.LAYOUT_MISMATCH>,
  section: string, message: string, detail: Record<string, string | number> = {}) {
    super(code, `${section}: ${message}`, { section, ...detail })
    this.name = 'PayloadError'
  }
}

/** True when `e` is one of ours with a known code: the fuzz tests' acceptance test. */
export function isCompressError (e: unknown): e is CompressError {
  return e instanceof CompressError && ALL_CODES.has(e.code)
}

/** Hostile spec strings can be long: keep messages bounded. */
function clip (s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
