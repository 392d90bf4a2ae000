// Registry of fold rules keyed by kind. The mapped type makes a missing rule a compile error:
// adding a kind to FoldRule without an entry here does not build.
import type { FoldRule, FoldRuleEntry, FoldRuleKind } from './rule-entry.js'
import { meanRule } from './mean.js'
import { medianRule } from './median.js'
import { trimmedRule } from './trimmed.js'
import { krumRule } from './krum.js'

export const FOLD_RULES: { readonly [K in FoldRuleKind]: FoldRuleEntry<K> } = {
  mean: meanRule,
  median: medianRule,
  'trimmed-mean': trimmedRule,
  'multi-krum': krumRule
}

/** Any entry, called with a rule of its own kind (entryOf and entryByName guarantee that). */
type AnyEntry = FoldRuleEntry<FoldRuleKind>
const ENTRIES = Object.values(FOLD_RULES) as unknown as AnyEntry[]

/** The entry of a rule's kind; undefined for a kind no entry has (untyped input). */
export function entryOf (rule: FoldRule): AnyEntry | undefined {
  return Object.hasOwn(FOLD_RULES, rule.kind) ? FOLD_RULES[rule.kind] as unknown as AnyEntry : undefined
}

/** The entry a name in rule text stands for (`trimmed`, `multi-krum`, …). */
export function entryByName (name: string): AnyEntry | undefined {
  return ENTRIES.find(e => e.names.includes(name))
}

/** Every name rule text may start with, canonical ones first (for messages). */
export function ruleNames (): string[] {
  return ENTRIES.map(e => e.names[0])
}
