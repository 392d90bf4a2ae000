// Tests of fold specs: text round trip, typed syntax errors, and fold() matching the rule functions in any order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  fold, parseFoldSpec, formatFoldSpec, weightedMean, coordinateMedian, trimmedMean, multiKrum, clipInputs,
  AggregateError, AggregateErrorCode, type FoldSpec
} from '../../src/aggregate/index.js'
import { makeUpdates, permute, sameBytes } from './helpers.js'

const code = (c: AggregateErrorCode) => (e: unknown) => e instanceof AggregateError && e.code === c

test('parses rule text and formats it back', () => {
  const cases: Array<[string, FoldSpec]> = [
    ['mean', { rule: { kind: 'mean' } }],
    ['median', { rule: { kind: 'median' } }],
    ['trimmed:0.1', { rule: { kind: 'trimmed-mean', beta: 0.1 } }],
    ['krum:2', { rule: { kind: 'multi-krum', f: 2 } }],
    ['krum:2:5', { rule: { kind: 'multi-krum', f: 2, m: 5 } }],
    ['mean+clip:1.5', { rule: { kind: 'mean' }, clip: { kind: 'norm', maxNorm: 1.5 } }],
    ['trimmed:0.2+clip:median*3', { rule: { kind: 'trimmed-mean', beta: 0.2 }, clip: { kind: 'median-norm', multiple: 3 } }]
  ]
  for (const [text, spec] of cases) {
    assert.deepEqual(parseFoldSpec(text), spec, text)
    assert.deepEqual(parseFoldSpec(formatFoldSpec(spec)), spec, text)
  }
  assert.deepEqual(parseFoldSpec(' Multi-Krum:1 '), { rule: { kind: 'multi-krum', f: 1 } })
})

test('malformed rule text fails with ERR_AGGREGATE_RULE_SYNTAX, bad numbers with ERR_AGGREGATE_BAD_PARAMETER', () => {
  for (const bad of ['', 'avg', 'mean:1', 'trimmed', 'krum', 'krum:1:2:3', 'mean+clip', 'mean+clip:1+clip:2', 'mean+norm:1']) {
    assert.throws(() => parseFoldSpec(bad), code(AggregateErrorCode.RuleSyntax), bad)
  }
  for (const bad of ['trimmed:0.5', 'trimmed:x', 'krum:-1', 'krum:1.5', 'krum:1:0', 'mean+clip:0', 'mean+clip:median*-2']) {
    assert.throws(() => parseFoldSpec(bad), code(AggregateErrorCode.BadParameter), bad)
  }
})

test('fold() equals the rule functions and lists included and selected ids in canonical order', () => {
  const inputs = makeUpdates(9, 400, 20)
  const ids = inputs.map(u => u.id).sort()
  const mean = fold(inputs, { rule: { kind: 'mean' } })
  assert.ok(sameBytes(mean.aggregate, weightedMean(inputs)))
  assert.deepEqual(mean.included, ids)
  assert.deepEqual(mean.selected, ids)
  assert.equal(mean.totalWeight, inputs.reduce((a, u) => a + u.weight, 0))
  assert.ok(sameBytes(fold(inputs, { rule: { kind: 'median' } }).aggregate, coordinateMedian(inputs)))
  assert.ok(sameBytes(fold(inputs, { rule: { kind: 'trimmed-mean', beta: 0.2 } }).aggregate, trimmedMean(inputs, 0.2)))
  const k = fold(inputs, { rule: { kind: 'multi-krum', f: 2, m: 4 } })
  const ref = multiKrum(inputs, { f: 2, m: 4 })
  assert.ok(sameBytes(k.aggregate, ref.aggregate))
  assert.deepEqual(k.selected, ref.selected)
  assert.deepEqual(k.included, ids)
  const clipped = fold(inputs, { rule: { kind: 'mean' }, clip: { kind: 'norm', maxNorm: 0.05 } })
  assert.ok(sameBytes(clipped.aggregate, weightedMean(clipInputs(inputs, { kind: 'norm', maxNorm: 0.05 }))))
})

test('every rule, with and without clipping, gives identical bytes for any arrival order', () => {
  const inputs = makeUpdates(11, 257, 21, { noise: 2 })
  const specs = ['mean', 'median', 'trimmed:0.2', 'krum:2', 'krum:3:3', 'mean+clip:median*1.2', 'median+clip:0.02'].map(parseFoldSpec)
  const refs = specs.map(s => fold(inputs, s).aggregate)
  fc.assert(fc.property(fc.integer(), seed => {
    const order = permute(inputs, seed)
    specs.forEach((s, i) => assert.ok(sameBytes(fold(order, s).aggregate, refs[i]), formatFoldSpec(s)))
  }), { numRuns: 20 })
})

test('byte ids order by bytes and fold like text ids', () => {
  const inputs = makeUpdates(4, 50, 22)
  const asBytes = inputs.map(u => ({ ...u, id: new TextEncoder().encode(String(u.id)) }))
  assert.ok(sameBytes(fold(asBytes, { rule: { kind: 'mean' } }).aggregate, fold(inputs, { rule: { kind: 'mean' } }).aggregate))
})
