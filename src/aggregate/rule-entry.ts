// What a fold rule is: its value type, and the entry every rule puts in the registry (rules.ts).
import { AggregateError, AggregateErrorCode } from './errors.js'
import type { UpdateInput } from './input.js'

/** A rule as a value, as named in a run's settings (`mean`, `trimmed:0.1`, `krum:2`, …). */
export type FoldRule =
  | { readonly kind: 'mean' }
  | { readonly kind: 'median' }
  | { readonly kind: 'trimmed-mean', readonly beta: number }
  | { readonly kind: 'multi-krum', readonly f: number, readonly m?: number }

export type FoldRuleKind = FoldRule['kind']
export type RuleOf<K extends FoldRuleKind> = Extract<FoldRule, { kind: K }>

/** A rule bound to its inputs, all whole-vector decisions made (Krum's choice, the trim count). */
export interface PreparedRule {
  /** indices (canonical order) of the updates that shape the aggregate */
  readonly selectedIndices: readonly number[]
  /** coordinate j of the aggregate, as a float32 value */
  at: (j: number) => number
  /** the whole aggregate */
  full: () => Float32Array
}

/**
 * One fold rule. The registry maps every kind of FoldRule to its entry, so a kind without
 * one does not compile; each entry says how many inputs it needs, which is what lets a run's
 * settings be refused when they can never be met (checkFoldFeasible) and lets a round with
 * fewer inputs fall back by a rule every verifier recomputes (effectiveFoldRule).
 */
export interface FoldRuleEntry<K extends FoldRuleKind> {
  readonly kind: K
  /** names in rule text; the first is the one `format` writes */
  readonly names: readonly [string, ...string[]]
  /** the rule from the `:`-separated parameters after its name; throws ERR_AGGREGATE_RULE_SYNTAX / ERR_AGGREGATE_BAD_PARAMETER */
  parse: (params: readonly string[], text: string) => RuleOf<K>
  /** canonical text: `parse` of its parameters gives the rule back */
  format: (rule: RuleOf<K>) => string
  /** the rule itself when its parameters are in range; throws ERR_AGGREGATE_BAD_PARAMETER otherwise */
  validate: (rule: RuleOf<K>) => RuleOf<K>
  /** fewest inputs for which the rule does what it says (tolerates its f, trims at least one per side, …) */
  minInputs: (rule: RuleOf<K>) => number
  /**
   * The rule bound to `sorted` (canonical order, validated, clipped, at least minInputs of
   * them): folding and verifying both evaluate through it.
   */
  prepare: (sorted: readonly UpdateInput[], rule: RuleOf<K>) => PreparedRule
}

/** A number parameter of rule text; NaN when absent or blank (validation then refuses it). */
export function ruleNumber (s: string | undefined): number {
  return (s === undefined || s.trim() === '') ? NaN : Number(s)
}

export function ruleSyntax (text: string, why: string): AggregateError {
  return new AggregateError(AggregateErrorCode.RuleSyntax, `fold rule "${text}": ${why}`)
}
