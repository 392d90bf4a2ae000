// Tests of the fold-rule registry: every entry round-trips its text, minimum inputs per rule, refusal of
// settings no round can meet, and the documented fallback (median) for a fold with too few inputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  FOLD_RULES, fold, verifyFold, parseFoldSpec, formatFoldSpec, formatFoldRule, foldMinInputs, effectiveFoldRule, effectiveFoldSpec,
  checkFoldFeasible, foldWidth, coordinateMedian, clipInputs, krumParameters, trimCount, AggregateError, AggregateErrorCode, FoldInfeasibleError,
  type FoldRule
} from '../../src/aggregate/index.js'
import { makeUpdates, sameBytes } from './helpers.js'

const code = (c: AggregateErrorCode) => (e: unknown) => e instanceof AggregateError && e.code === c

test('every registry entry parses its own canonical text back, under each of its names', () => {
  const samples: { [K in keyof typeof FOLD_RULES]: string[] } = {
    mean: [''],
    median: [''],
    'trimmed-mean': ['0', '0.1', '0.25'],
    'multi-krum': ['0', '2', '1:3']
  }
  for (const entry of Object.values(FOLD_RULES)) {
    for (const params of samples[entry.kind]) {
      for (const name of entry.names) {
        const text = params === '' ? name : `${name}:${params}`
        const spec = parseFoldSpec(text)
        assert.equal(spec.rule.kind, entry.kind, text)
        assert.equal(formatFoldRule(spec.rule).split(':')[0], entry.names[0], text)
        assert.deepEqual(parseFoldSpec(formatFoldSpec(spec)), spec, text)
      }
    }
  }
})

test('minimum inputs: mean and median 1, trimmed ⌊β·n⌋ ≥ 1, Multi-Krum n ≥ max(2f + 3, m + f)', () => {
  const min = (t: string): number => foldMinInputs(parseFoldSpec(t).rule)
  assert.equal(min('mean'), 1)
  assert.equal(min('median'), 1)
  assert.equal(min('trimmed:0'), 1)
  assert.equal(min('trimmed:0.1'), 10)
  assert.equal(min('trimmed:0.2'), 5)
  assert.equal(min('trimmed:0.3'), 4)
  assert.equal(min('trimmed:0.49'), 3)
  assert.equal(min('krum:0'), 3)
  assert.equal(min('krum:1'), 5)
  assert.equal(min('krum:2'), 7)
  assert.equal(min('krum:1:6'), 7)
  // the stated minimum is exact against the rule functions' own conditions
  for (const beta of [0.05, 0.1, 0.15, 0.2, 0.3, 0.33, 0.45]) {
    const n = min(`trimmed:${beta}`)
    assert.ok(trimCount(n, beta) >= 1 && trimCount(n - 1, beta) === 0, `β = ${beta}`)
  }
  for (const [f, m] of [[0, undefined], [1, undefined], [2, undefined], [1, 6], [3, 2]] as const) {
    const n = foldMinInputs({ kind: 'multi-krum', f, m })
    assert.doesNotThrow(() => krumParameters(n, { f, m }))
    assert.throws(() => krumParameters(n - 1, { f, m }))
  }
})

test('settings no fold can meet are refused with ERR_AGGREGATE_RULE_INFEASIBLE and typed fields', () => {
  const err = checkFoldFeasible(parseFoldSpec('krum:2'), 4)
  assert.ok(err instanceof FoldInfeasibleError)
  assert.equal(err.code, AggregateErrorCode.RuleInfeasible)
  assert.equal(err.minInputs, 7)
  assert.equal(err.inputs, 4)
  assert.equal(err.rule, 'krum:2')
  assert.equal(checkFoldFeasible(parseFoldSpec('krum:2'), 7), null)
  assert.equal(checkFoldFeasible(parseFoldSpec('trimmed:0.1+clip:2'), 9)?.code, AggregateErrorCode.RuleInfeasible)
  assert.equal(checkFoldFeasible(parseFoldSpec('mean'), 1), null)
  assert.equal(checkFoldFeasible(parseFoldSpec('median'), 1), null)
  // hierarchical: the rule sees one group; 12 members in groups of 4 → at most 4 per fold
  assert.equal(foldWidth(12), 12)
  assert.equal(foldWidth(12, 4), 4)
  assert.equal(foldWidth(13, 4), 4)
  assert.equal(foldWidth(10, 4), 4)
  assert.equal(foldWidth(3, 16), 3)
})

test('the effective rule is the spec\'s with enough inputs, else the median; the clip stays', () => {
  const krum: FoldRule = { kind: 'multi-krum', f: 2 }
  assert.equal(effectiveFoldRule(krum, 7), krum)
  assert.deepEqual(effectiveFoldRule(krum, 6), { kind: 'median' })
  assert.deepEqual(effectiveFoldRule({ kind: 'trimmed-mean', beta: 0.2 }, 4), { kind: 'median' })
  assert.deepEqual(effectiveFoldRule({ kind: 'mean' }, 1), { kind: 'mean' })
  const spec = parseFoldSpec('krum:1+clip:median*2')
  assert.deepEqual(effectiveFoldSpec(spec, 4), { rule: { kind: 'median' }, clip: { kind: 'median-norm', multiple: 2 } })
  assert.equal(effectiveFoldSpec(spec, 5), spec)
})

test('a fold with too few inputs folds by the median, says so, and verifies (full and sampled)', () => {
  const inputs = makeUpdates(4, 300, 60, { noise: 2 })
  for (const text of ['krum:2', 'krum:1', 'trimmed:0.1', 'krum:1+clip:median*1.1']) {
    const spec = parseFoldSpec(text)
    const r = fold(inputs, spec)
    assert.deepEqual(r.rule, { kind: 'median' }, text)
    const clipped = spec.clip === undefined ? inputs : clipInputs([...inputs].sort((a, b) => String(a.id) < String(b.id) ? -1 : 1), spec.clip)
    assert.ok(sameBytes(r.aggregate, coordinateMedian(clipped)), text)
    assert.equal(r.selected.length, 4)
    assert.ok(verifyFold({ inputs, spec, claimed: r.aggregate, check: { kind: 'full' } }).ok, text)
    assert.ok(verifyFold({ inputs, spec, claimed: r.aggregate, check: { kind: 'sampled', count: 16, seed: 3 } }).ok, text)
    // a commit folded by the rule as written is not what the spec means for 4 inputs
    const meanLike = fold(inputs, parseFoldSpec('mean')).aggregate
    assert.equal(verifyFold({ inputs, spec, claimed: meanLike, check: { kind: 'full' } }).ok, false, text)
  }
  // with enough inputs the rule runs as written
  const seven = makeUpdates(7, 300, 61)
  assert.deepEqual(fold(seven, parseFoldSpec('krum:2')).rule, { kind: 'multi-krum', f: 2 })
})

test('an unknown rule kind is a typed error, not a crash', () => {
  assert.throws(() => foldMinInputs({ kind: 'geomedian' } as unknown as FoldRule), code(AggregateErrorCode.RuleSyntax))
  assert.throws(() => fold(makeUpdates(3, 10, 1), { rule: { kind: 'toString' } as unknown as FoldRule }), code(AggregateErrorCode.RuleSyntax))
})
