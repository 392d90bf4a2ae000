// A node's own text, read from disk as a byte-level token set: a folder of .txt files, or a .jsonl file.
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs'
import { basename, join } from 'node:path'
import { DataError, DataErrorCode, LocalTextError } from './errors.js'
import { createTokenDataset, type TokenDataset } from './tokens.js'

export interface LocalTextOptions {
  /** input tokens per window; a usable dataset needs one document of at least context + 1 bytes */
  readonly context: number
  /**
   * The string field holding a document's text on each .jsonl line.
   * @default 'text'
   */
  readonly field?: string
}

/** Byte-level, as the shipped text sets: a token is one byte of UTF-8. */
const VOCAB = 256
const BOM = [0xef, 0xbb, 0xbf]
const NEWLINE = 0x0a

interface Doc {
  readonly bytes: Uint8Array
  /** where it came from, for messages: a file name, or file:line */
  readonly where: string
}

/**
 * Reads a node's own text as a token set of byte tokens, one document per unit:
 * - a folder: every `.txt` file directly in it (not in subfolders; names starting with
 *   '.' are skipped), in name order (by code unit, the same on every machine);
 * - a `.jsonl` file: every non-blank line is a JSON object whose `field` is the document's text.
 *
 * Text must be valid UTF-8 (a leading byte-order mark is dropped). Empty documents are
 * left out (document indices then skip them), so a document is never empty. Anything
 * unusable is one LocalTextError whose code says what and whose message names the
 * file (and line): a missing or unreadable path, no documents or only empty ones, bytes
 * that are not UTF-8, a line that is not a JSON object or lacks the string field, and no
 * document long enough for one window of context + 1 bytes.
 */
export function loadLocalText (path: string, options: LocalTextOptions): TokenDataset {
  const { context } = options
  const field = options.field ?? 'text'
  if (!Number.isInteger(context) || context < 1) {
    throw new DataError(DataErrorCode.LoadFailed, `context must be a positive integer, got ${context}`)
  }
  const stats = statOf(path)
  let docs: Doc[]
  if (stats.isDirectory()) {
    docs = readFolder(path)
  } else if (stats.isFile() && path.toLowerCase().endsWith('.jsonl')) {
    docs = readJsonl(path, field)
  } else {
    throw new LocalTextError(DataErrorCode.LocalUnreadable, path, undefined, `${path} is neither a folder of .txt files nor a .jsonl file`)
  }
  const kept = docs.filter(d => d.bytes.length > 0)
  if (kept.length === 0) {
    const what = docs.length === 0
      ? (stats.isDirectory() ? 'no .txt files' : 'no JSON lines')
      : `only empty documents (${docs.length})`
    throw new LocalTextError(DataErrorCode.LocalEmpty, path, undefined, `${path} holds ${what}: there is no text to train on`)
  }
  const longest = kept.reduce((a, d) => d.bytes.length > a.bytes.length ? d : a)
  if (longest.bytes.length < context + 1) {
    throw new LocalTextError(DataErrorCode.LocalTooShort, path, undefined,
      `no document in ${path} is long enough for one window of context ${context} + 1 = ${context + 1} bytes; the longest, ${longest.where}, has ${longest.bytes.length}`)
  }
  const starts = [0]
  for (const d of kept) starts.push(starts[starts.length - 1] + d.bytes.length)
  const tokens = new Uint8Array(starts[starts.length - 1])
  kept.forEach((d, i) => tokens.set(d.bytes, starts[i]))
  return createTokenDataset(tokens, starts, VOCAB, context)
}

function statOf (path: string): Stats {
  try {
    return statSync(path)
  } catch (err) {
    throw fsError(err, path)
  }
}

function readBytes (file: string): Uint8Array {
  try {
    return readFileSync(file)
  } catch (err) {
    throw fsError(err, file)
  }
}

function fsError (err: unknown, file: string): LocalTextError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return new LocalTextError(DataErrorCode.LocalMissing, file, undefined, `${file} does not exist`)
  return new LocalTextError(DataErrorCode.LocalUnreadable, file, undefined, `cannot read ${file}: ${(err as Error).message}`)
}

function readFolder (dir: string): Doc[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    throw fsError(err, dir)
  }
  const files = names
    .filter(n => !n.startsWith('.') && n.toLowerCase().endsWith('.txt'))
    .sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
    .map(n => join(dir, n))
    .filter(f => statOf(f).isFile())
  return files.map(file => {
    let bytes = readBytes(file)
    if (BOM.every((b, i) => bytes[i] === b)) bytes = bytes.subarray(BOM.length)
    checkUtf8(bytes, file, undefined)
    return { bytes, where: basename(file) }
  })
}

function readJsonl (file: string, field: string): Doc[] {
  const all = readBytes(file)
  const enc = new TextEncoder()
  const docs: Doc[] = []
  // 0x0a never occurs inside a multi-byte UTF-8 sequence, so lines can be cut as bytes and each checked on its own
  let from = 0
  for (let line = 1; from <= all.length; line++) {
    let to = all.indexOf(NEWLINE, from)
    if (to < 0) to = all.length
    const bytes = all.subarray(from, to)
    from = to + 1
    const text = checkUtf8(bytes, file, line)
    if (text.trim() === '') continue
    const at = `${file}:${line}`
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new LocalTextError(DataErrorCode.LocalJson, file, line, `${at} is not valid JSON: ${(err as Error).message}`)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new LocalTextError(DataErrorCode.LocalJson, file, line, `${at} is not a JSON object (one object with a "${field}" field per line)`)
    }
    if (!Object.hasOwn(value, field)) {
      throw new LocalTextError(DataErrorCode.LocalField, file, line, `${at} has no "${field}" field`)
    }
    const doc = (value as Record<string, unknown>)[field]
    if (typeof doc !== 'string') {
      throw new LocalTextError(DataErrorCode.LocalField, file, line, `${at}: field "${field}" is ${doc === null ? 'null' : typeof doc}, not a string`)
    }
    if (LONE_SURROGATE.test(doc)) {
      throw new LocalTextError(DataErrorCode.LocalEncoding, file, line, `${at}: field "${field}" holds a lone UTF-16 surrogate escape, which is not valid UTF-8 text`)
    }
    docs.push({ bytes: enc.encode(doc), where: `line ${line}` })
  }
  return docs
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** The text of `bytes`, or a LocalEncoding error naming the file (and line). */
function checkUtf8 (bytes: Uint8Array, file: string, line: number | undefined): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    const at = line === undefined ? file : `${file}:${line}`
    throw new LocalTextError(DataErrorCode.LocalEncoding, file, line, `${at} is not valid UTF-8 text (bad byte at offset ${firstBadByte(bytes)}${line === undefined ? '' : ' of the line'})`)
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence, for the message. */
function firstBadByte (b: Uint8Array): number {
  const dec = new TextDecoder('utf-8', { fatal: true })
  // walk whole sequences (at most 4 bytes each) until one fails to decode
  let i = 0
  while (i < b.length) {
    const lead = b[i]
    const len = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0
    if (len === 0 || i + len > b.length) return i
    try {
      dec.decode(b.subarray(i, i + len))
    } catch {
      return i
    }
    i += len
  }
  return i
}
