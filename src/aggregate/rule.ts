// The fold a run uses, named in its manifest: rule + optional clipping, as a value, as text, and applied.
import { AggregateError, AggregateErrorCode } from './errors.js'
import { canonicalInputs, type UpdateId, type UpdateInput } from './input.js'
import { clipInputs, validateClipRule, type ClipRule } from './clip.js'
import { foldMean, meanAt } from './mean.js'
import { foldMedian, medianAt } from './median.js'
import { foldTrimmedMean, trimCount, trimmedAt } from './trimmed.js'
import { foldSelectedMean, krumParameters, krumSelect, selectedMeanAt } from './krum.js'

export type FoldRule =
  | { readonly kind: 'mean' }
  | { readonly kind: 'median' }
  | { readonly kind: 'trimmed-mean', readonly beta: number }
  | { readonly kind: 'multi-krum', readonly f: number, readonly m?: number }

export interface FoldSpec {
  readonly rule: FoldRule
  /** clip every update before the rule sees it; none when absent */
  readonly clip?: ClipRule
}

export interface FoldResult {
  /** the folded pseudo-gradient, input of the outer optimizer */
  readonly aggregate: Float32Array
  /** every update the fold was given, in canonical (id) order: the commit lists these */
  readonly included: UpdateId[]
  /** the updates that shaped the aggregate: all of them, except under Multi-Krum */
  readonly selected: UpdateId[]
  /** Σ weights over `included` */
  readonly totalWeight: number
}

/**
 * A fold with all whole-vector decisions made (validation, order, clipping, Krum's
 * choice), leaving a per-coordinate function. Folding and verifying both go through it,
 * so a sampled check computes exactly what the full fold did.
 */
export interface PreparedFold {
  readonly inputs: readonly UpdateInput[]
  readonly length: number
  readonly selectedIndices: readonly number[]
  /** coordinate j of the aggregate, as a float32 value */
  at (j: number): number
  /** the whole aggregate */
  full (): Float32Array
}

export function validateFoldRule (rule: FoldRule): FoldRule {
  switch (rule.kind) {
    case 'mean':
    case 'median':
      return rule
    case 'trimmed-mean':
      trimCount(3, rule.beta)
      return rule
    case 'multi-krum':
      if (!Number.isInteger(rule.f) || rule.f < 0) throw new AggregateError(AggregateErrorCode.BadParameter, `Krum f must be a non-negative integer, got ${rule.f}`)
      if (rule.m !== undefined && !(Number.isInteger(rule.m) && rule.m >= 1)) throw new AggregateError(AggregateErrorCode.BadParameter, `Krum m must be a positive integer, got ${rule.m}`)
      return rule
    default:
      throw new AggregateError(AggregateErrorCode.RuleSyntax, `unknown fold rule "${String((rule as { kind: unknown }).kind)}"`)
  }
}

/** Validates, orders, clips and, for Multi-Krum, selects; cheap to call `at` afterwards. */
export function prepareFold (inputs: readonly UpdateInput[], spec: FoldSpec): PreparedFold {
  validateFoldRule(spec.rule)
  let sorted = canonicalInputs(inputs)
  if (spec.clip !== undefined) sorted = clipInputs(sorted, validateClipRule(spec.clip))
  const length = sorted[0].update.length
  const all = sorted.map((_, i) => i)
  const rule = spec.rule
  switch (rule.kind) {
    case 'mean': {
      const total = sorted.reduce((a, u) => a + u.weight, 0)
      if (!(total > 0)) throw new AggregateError(AggregateErrorCode.ZeroTotalWeight, `the ${sorted.length} updates carry zero total weight`)
      return { inputs: sorted, length, selectedIndices: all, at: j => meanAt(sorted, j), full: () => foldMean(sorted) }
    }
    case 'median': {
      const scratch = new Float64Array(sorted.length)
      return { inputs: sorted, length, selectedIndices: all, at: j => medianAt(sorted, j, scratch), full: () => foldMedian(sorted) }
    }
    case 'trimmed-mean': {
      const k = trimCount(sorted.length, rule.beta)
      const scratch = new Float64Array(sorted.length)
      return { inputs: sorted, length, selectedIndices: all, at: j => trimmedAt(sorted, j, k, scratch), full: () => foldTrimmedMean(sorted, rule.beta) }
    }
    case 'multi-krum': {
      krumParameters(sorted.length, rule)
      const { selected } = krumSelect(sorted, rule)
      return { inputs: sorted, length, selectedIndices: selected, at: j => selectedMeanAt(sorted, selected, j), full: () => foldSelectedMean(sorted, selected) }
    }
  }
}

/** Folds a round's updates by the run's rule; the same inputs give the same bytes in any arrival order. */
export function fold (inputs: readonly UpdateInput[], spec: FoldSpec): FoldResult {
  const p = prepareFold(inputs, spec)
  return {
    aggregate: p.full(),
    included: p.inputs.map(u => u.id),
    selected: p.selectedIndices.map(i => p.inputs[i].id),
    totalWeight: p.inputs.reduce((a, u) => a + u.weight, 0)
  }
}

/**
 * Parses `mean`, `median`, `trimmed:<beta>`, `krum:<f>` or `krum:<f>:<m>`, optionally
 * followed by `+clip:<maxNorm>` or `+clip:median*<multiple>`; e.g. `trimmed:0.1+clip:median*3`.
 */
export function parseFoldSpec (text: string): FoldSpec {
  const [ruleText, ...mods] = text.trim().toLowerCase().split('+').map(s => s.trim())
  const rule = parseRule(ruleText, text)
  if (mods.length === 0) return { rule }
  if (mods.length > 1) throw syntax(text, 'at most one "+clip:…" modifier')
  return { rule, clip: parseClip(mods[0], text) }
}

/** Canonical text of a spec; `parseFoldSpec(formatFoldSpec(s))` gives `s` back. */
export function formatFoldSpec (spec: FoldSpec): string {
  const r = spec.rule
  const rule = r.kind === 'mean' || r.kind === 'median'
    ? r.kind
    : r.kind === 'trimmed-mean' ? `trimmed:${r.beta}` : r.m === undefined ? `krum:${r.f}` : `krum:${r.f}:${r.m}`
  if (spec.clip === undefined) return rule
  return spec.clip.kind === 'norm' ? `${rule}+clip:${spec.clip.maxNorm}` : `${rule}+clip:median*${spec.clip.multiple}`
}

function parseRule (t: string, text: string): FoldRule {
  const parts = t.split(':')
  const num = (s: string | undefined): number => (s === undefined || s.trim() === '') ? NaN : Number(s)
  switch (parts[0]) {
    case 'mean':
    case 'median':
      if (parts.length !== 1) throw syntax(text, `"${parts[0]}" takes no parameters`)
      return { kind: parts[0] }
    case 'trimmed':
    case 'trimmed-mean': {
      if (parts.length !== 2) throw syntax(text, 'expected trimmed:<beta>')
      return validateFoldRule({ kind: 'trimmed-mean', beta: num(parts[1]) })
    }
    case 'krum':
    case 'multi-krum': {
      if (parts.length !== 2 && parts.length !== 3) throw syntax(text, 'expected krum:<f> or krum:<f>:<m>')
      const rule: FoldRule = parts.length === 2 ? { kind: 'multi-krum', f: num(parts[1]) } : { kind: 'multi-krum', f: num(parts[1]), m: num(parts[2]) }
      return validateFoldRule(rule)
    }
    default:
      throw syntax(text, 'expected mean, median, trimmed:<beta> or krum:<f>[:<m>]')
  }
}

function parseClip (t: string, text: string): ClipRule {
  const m = /^clip:(median\*)?([^*]+)$/.exec(t)
  if (m == null) throw syntax(text, 'expected +clip:<maxNorm> or +clip:median*<multiple>')
  const v = Number(m[2])
  return validateClipRule(m[1] === undefined ? { kind: 'norm', maxNorm: v } : { kind: 'median-norm', multiple: v })
}

function syntax (text: string, why: string): AggregateError {
  return new AggregateError(AggregateErrorCode.RuleSyntax, `fold rule "${text}": ${why}`)
}
