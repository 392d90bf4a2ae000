// The fold a run uses, named in its manifest: rule + optional clipping, as a value, as text, and applied.
// Rules live in a registry (rules.ts); this file parses, checks and applies whichever one a spec names.
import { AggregateError, AggregateErrorCode } from './errors.js'
import { canonicalInputs, type UpdateId, type UpdateInput } from './input.js'
import { clipInputs, validateClipRule, type ClipRule } from './clip.js'
import { ruleSyntax, type FoldRule } from './rule-entry.js'
import { entryByName, entryOf, ruleNames } from './rules.js'

export type { FoldRule, FoldRuleKind, FoldRuleEntry, PreparedRule, RuleOf } from './rule-entry.js'

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
  /** the rule that folded: the spec's, or its fallback when there were too few inputs (effectiveFoldRule) */
  readonly rule: FoldRule
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
  /** the effective rule (effectiveFoldRule of the spec's rule and the number of inputs) */
  readonly rule: FoldRule
  /** coordinate j of the aggregate, as a float32 value */
  at (j: number): number
  /** the whole aggregate */
  full (): Float32Array
}

/** The rule itself when its kind is known and its parameters in range; throws ERR_AGGREGATE_RULE_SYNTAX / ERR_AGGREGATE_BAD_PARAMETER. */
export function validateFoldRule (rule: FoldRule): FoldRule {
  const e = entryOf(rule)
  if (e === undefined) throw new AggregateError(AggregateErrorCode.RuleSyntax, `unknown fold rule "${String((rule as { kind: unknown }).kind)}"`)
  return e.validate(rule)
}

/** Fewest inputs for which `rule` does what it says: mean and median 1, trimmed:β ⌈1/β⌉, krum:f[:m] max(2f + 3, m + f). */
export function foldMinInputs (rule: FoldRule): number {
  return entryOf(validateFoldRule(rule))!.minInputs(rule)
}

/**
 * The rule a fold of `inputs` updates runs: `rule` itself when `inputs` ≥ foldMinInputs(rule),
 * else the coordinate-wise median (which needs one). A pure function of the spec and the
 * number of included updates, so every verifier derives it from the commit alone.
 */
export function effectiveFoldRule (rule: FoldRule, inputs: number): FoldRule {
  return inputs >= foldMinInputs(rule) ? rule : FALLBACK
}

/** The spec with effectiveFoldRule applied; the clip modifier is kept. */
export function effectiveFoldSpec (spec: FoldSpec, inputs: number): FoldSpec {
  const rule = effectiveFoldRule(spec.rule, inputs)
  return rule === spec.rule ? spec : { ...spec, rule }
}

const FALLBACK: FoldRule = Object.freeze({ kind: 'median' })

/** A fold setting that no round of the run can meet with all its members in: refused when the run is configured. */
export class FoldInfeasibleError extends AggregateError {
  /** canonical text of the spec */
  readonly rule: string
  /** inputs the rule's round can have at most (founding members, or the largest group) */
  readonly inputs: number
  readonly minInputs: number
  constructor (rule: string, inputs: number, minInputs: number) {
    super(AggregateErrorCode.RuleInfeasible, `fold rule "${rule}" needs at least ${minInputs} updates per fold, but a fold of this run has at most ${inputs}`)
    this.name = 'FoldInfeasibleError'
    this.rule = rule
    this.inputs = inputs
    this.minInputs = minInputs
  }
}

/**
 * Null when a fold of `members` updates can run `spec` as written; otherwise the typed error
 * (ERR_AGGREGATE_RULE_INFEASIBLE) to refuse the settings with. `members` is the most updates one
 * fold can see: the founding members, or in hierarchical mode the largest group (foldWidth).
 */
export function checkFoldFeasible (spec: FoldSpec, members: number): FoldInfeasibleError | null {
  const min = foldMinInputs(spec.rule)
  return members >= min ? null : new FoldInfeasibleError(formatFoldSpec(spec), members, min)
}

/**
 * Most updates one fold of a run sees: every member, or in hierarchical mode the largest of the
 * ⌈members / groupSize⌉ near-equal groups (the rule acts inside groups, see round/groups.ts).
 */
export function foldWidth (members: number, hierarchicalGroupSize?: number): number {
  if (hierarchicalGroupSize === undefined) return members
  return Math.ceil(members / Math.max(1, Math.ceil(members / hierarchicalGroupSize)))
}

/** Validates, orders, clips, picks the effective rule and, for Multi-Krum, selects; cheap to call `at` afterwards. */
export function prepareFold (inputs: readonly UpdateInput[], spec: FoldSpec): PreparedFold {
  validateFoldRule(spec.rule)
  let sorted = canonicalInputs(inputs)
  if (spec.clip !== undefined) sorted = clipInputs(sorted, validateClipRule(spec.clip))
  const rule = effectiveFoldRule(spec.rule, sorted.length)
  const p = entryOf(rule)!.prepare(sorted, rule)
  return { inputs: sorted, length: sorted[0].update.length, rule, selectedIndices: p.selectedIndices, at: p.at, full: p.full }
}

/** Folds a round's updates by the run's rule; the same inputs give the same bytes in any arrival order. */
export function fold (inputs: readonly UpdateInput[], spec: FoldSpec): FoldResult {
  const p = prepareFold(inputs, spec)
  return {
    aggregate: p.full(),
    included: p.inputs.map(u => u.id),
    selected: p.selectedIndices.map(i => p.inputs[i].id),
    totalWeight: p.inputs.reduce((a, u) => a + u.weight, 0),
    rule: p.rule
  }
}

/**
 * Parses `mean`, `median`, `trimmed:<beta>`, `krum:<f>` or `krum:<f>:<m>`, optionally
 * followed by `+clip:<maxNorm>` or `+clip:median*<multiple>`; e.g. `trimmed:0.1+clip:median*3`.
 */
export function parseFoldSpec (text: string): FoldSpec {
  const [ruleText, ...mods] = text.trim().toLowerCase().split('+').map(s => s.trim())
  const rule = parseFoldRule(ruleText, text)
  if (mods.length === 0) return { rule }
  if (mods.length > 1) throw ruleSyntax(text, 'at most one "+clip:…" modifier')
  return { rule, clip: parseClip(mods[0], text) }
}

/** Canonical text of a spec; `parseFoldSpec(formatFoldSpec(s))` gives `s` back. */
export function formatFoldSpec (spec: FoldSpec): string {
  const rule = formatFoldRule(spec.rule)
  if (spec.clip === undefined) return rule
  return spec.clip.kind === 'norm' ? `${rule}+clip:${spec.clip.maxNorm}` : `${rule}+clip:median*${spec.clip.multiple}`
}

/** Canonical text of a rule alone (`krum:2`), as logs and errors name it. */
export function formatFoldRule (rule: FoldRule): string {
  return entryOf(validateFoldRule(rule))!.format(rule)
}

function parseFoldRule (t: string, text: string): FoldRule {
  const [name, ...params] = t.split(':')
  const e = entryByName(name)
  if (e === undefined) throw ruleSyntax(text, `expected one of ${ruleNames().join(', ')} (mean, median, trimmed:<beta>, krum:<f>[:<m>])`)
  return e.parse(params, text)
}

function parseClip (t: string, text: string): ClipRule {
  const m = /^clip:(median\*)?([^*]+)$/.exec(t)
  if (m == null) throw ruleSyntax(text, 'expected +clip:<maxNorm> or +clip:median*<multiple>')
  const v = Number(m[2])
  return validateClipRule(m[1] === undefined ? { kind: 'norm', maxNorm: v } : { kind: 'median-norm', multiple: v })
}
