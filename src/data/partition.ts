// How a dataset is split across nodes: IID or Dirichlet label skew, as a value and as text.
import { DataErrorCode, PartitionParseError } from './errors.js'

/**
 * `iid`: every node gets a uniformly random, equally sized slice.
 * `dirichlet`: for each class, node shares are drawn from Dirichlet(alpha · 1); small
 * alpha (0.1) gives nodes that see mostly one or two classes, large alpha (100) is
 * close to IID. This is the usual non-IID benchmark (Hsu et al. 2019).
 */
export type Partition =
  | { readonly kind: 'iid' }
  | { readonly kind: 'dirichlet', readonly alpha: number }

const DIRICHLET = /^dirichlet\s*[:=(]\s*([^)\s]+)\s*\)?$/

/** Parses `iid` or `dirichlet:<alpha>` (also `dirichlet(0.5)`, `dirichlet=0.5`); case-insensitive. */
export function parsePartition (text: string): Partition {
  const t = text.trim().toLowerCase()
  if (t === 'iid') return { kind: 'iid' }
  const m = DIRICHLET.exec(t)
  if (m == null) {
    throw new PartitionParseError(DataErrorCode.PartitionSyntax, text, `partition "${text}" is not "iid" or "dirichlet:<alpha>"`)
  }
  // Number() rather than parseFloat: "0.5abc" must fail, not become 0.5
  const alpha = Number(m[1])
  checkAlpha(alpha, text)
  return { kind: 'dirichlet', alpha }
}

/** Canonical text of a partition; `parsePartition(formatPartition(p))` gives `p` back. */
export function formatPartition (p: Partition): string {
  return p.kind === 'iid' ? 'iid' : `dirichlet:${p.alpha}`
}

/** Throws unless the partition value is usable (a hand-built object skips the parser). */
export function validatePartition (p: Partition): Partition {
  if (p.kind === 'iid') return p
  if (p.kind === 'dirichlet') {
    checkAlpha(p.alpha, formatPartition(p))
    return p
  }
  throw new PartitionParseError(DataErrorCode.PartitionSyntax, String((p as { kind: unknown }).kind), `unknown partition kind "${String((p as { kind: unknown }).kind)}"`)
}

function checkAlpha (alpha: number, input: string): void {
  if (!Number.isFinite(alpha) || alpha <= 0) {
    throw new PartitionParseError(DataErrorCode.PartitionAlpha, input, `Dirichlet alpha must be a finite number > 0, got "${input}"`)
  }
}
