// How a dataset is split across nodes: IID, Dirichlet label skew, or whole document groups, as a value and as text.
import { DataErrorCode, PartitionParseError } from './errors.js'
import { GROUPING_NAME } from './tokens.js'

/**
 * `iid`: every node gets a uniformly random, equally sized slice.
 * `dirichlet`: for each class, node shares are drawn from Dirichlet(alpha · 1); small
 * alpha (0.1) gives nodes that see mostly one or two classes, large alpha (100) is
 * close to IID. This is the usual non-IID benchmark (Hsu et al. 2019).
 * `group`: a token set's documents are dealt out as whole groups of one of its groupings
 * (`by`: 'speaker', 'era', ...), so each node holds, say, its own presidents' addresses
 * and no other node sees any of them: a natural non-IID split of text.
 */
export type Partition =
  | { readonly kind: 'iid' }
  | { readonly kind: 'dirichlet', readonly alpha: number }
  | { readonly kind: 'group', readonly by: string }

/** Groupings that parse as a bare word (`speaker`); any other is written `group:<name>`. */
const BARE_GROUPINGS: readonly string[] = ['speaker', 'era']

const DIRICHLET = /^dirichlet\s*[:=(]\s*([^)\s]+)\s*\)?$/
const GROUP = /^group\s*[:=(]\s*([^)\s]+)\s*\)?$/

/**
 * Parses `iid`, `dirichlet:<alpha>` (also `dirichlet(0.5)`, `dirichlet=0.5`), `speaker`,
 * `era` or `group:<name>` (`group:speaker` is `speaker`); case-insensitive.
 */
export function parsePartition (text: string): Partition {
  const t = text.trim().toLowerCase()
  if (t === 'iid') return { kind: 'iid' }
  if (BARE_GROUPINGS.includes(t)) return { kind: 'group', by: t }
  const g = GROUP.exec(t)
  if (g != null) {
    checkGrouping(g[1], text)
    return { kind: 'group', by: g[1] }
  }
  const m = DIRICHLET.exec(t)
  if (m == null) {
    throw new PartitionParseError(DataErrorCode.PartitionSyntax, text, `partition "${text}" is not "iid", "dirichlet:<alpha>", "speaker", "era" or "group:<name>"`)
  }
  // Number() rather than parseFloat: "0.5abc" must fail, not become 0.5
  const alpha = Number(m[1])
  checkAlpha(alpha, text)
  return { kind: 'dirichlet', alpha }
}

/** Canonical text of a partition; `parsePartition(formatPartition(p))` gives `p` back. */
export function formatPartition (p: Partition): string {
  switch (p.kind) {
    case 'iid': return 'iid'
    case 'dirichlet': return `dirichlet:${p.alpha}`
    case 'group': return BARE_GROUPINGS.includes(p.by) ? p.by : `group:${p.by}`
  }
}

/** Throws unless the partition value is usable (a hand-built object skips the parser). */
export function validatePartition (p: Partition): Partition {
  switch (p.kind) {
    case 'iid': return p
    case 'dirichlet':
      checkAlpha(p.alpha, `dirichlet:${p.alpha}`)
      return p
    case 'group':
      checkGrouping(p.by, `group:${String(p.by)}`)
      return p
  }
  const kind = String((p as { kind: unknown }).kind)
  throw new PartitionParseError(DataErrorCode.PartitionSyntax, kind, `unknown partition kind "${kind}"`)
}

function checkAlpha (alpha: number, input: string): void {
  if (!Number.isFinite(alpha) || alpha <= 0) {
    throw new PartitionParseError(DataErrorCode.PartitionAlpha, input, `Dirichlet alpha must be a finite number > 0, got "${input}"`)
  }
}

function checkGrouping (by: unknown, input: string): void {
  if (typeof by !== 'string' || !GROUPING_NAME.test(by)) {
    throw new PartitionParseError(DataErrorCode.PartitionSyntax, input, `partition "${input}" names no grouping: a grouping is lowercase letters, digits, '-' or '_' (e.g. speaker, era)`)
  }
}
