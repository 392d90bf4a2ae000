// Tests of commit verification: honest folds pass in full and sampled, tampering is caught, outer step checked.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fold, verifyFold, verifyOuterStep, sampleCoordinates, parseFoldSpec, OuterOptimizer, AggregateError, AggregateErrorCode } from '../../src/aggregate/index.js'
import { makeUpdates, permute } from './helpers.js'

const SPECS = ['mean', 'median', 'trimmed:0.2', 'krum:2:5', 'mean+clip:median*1.1', 'trimmed:0.1+clip:0.05'].map(parseFoldSpec)

test('an honest commit passes full and sampled checks for every rule, whatever order the verifier sees', () => {
  const inputs = makeUpdates(10, 2000, 40, { noise: 2 })
  for (const spec of SPECS) {
    const { aggregate } = fold(inputs, spec)
    const full = verifyFold({ inputs: permute(inputs, 1), spec, claimed: aggregate, check: { kind: 'full' } })
    assert.deepEqual(full, { ok: true, lengthOk: true, checked: 2000, mismatches: 0 })
    const sampled = verifyFold({ inputs: permute(inputs, 2), spec, claimed: aggregate, check: { kind: 'sampled', count: 64, seed: 'verifier-7' } })
    assert.deepEqual(sampled, { ok: true, lengthOk: true, checked: 64, mismatches: 0 })
  }
})

test('tampering is caught: one changed coordinate in full, a shifted block when sampled', () => {
  const inputs = makeUpdates(8, 1000, 41)
  const spec = parseFoldSpec('median')
  const honest = fold(inputs, spec).aggregate
  const oneOff = honest.slice()
  oneOff[321] = Math.fround(oneOff[321] * (1 + 2 ** -20))
  const full = verifyFold({ inputs, spec, claimed: oneOff, check: { kind: 'full' } })
  assert.equal(full.ok, false)
  assert.equal(full.mismatches, 1)
  assert.equal(full.first?.index, 321)
  // a cheat touching 10% of coordinates is caught by 64 samples except with probability 0.9^64 ≈ 0.1%
  const block = honest.slice()
  for (let j = 0; j < 100; j++) block[j * 10] += 0.5
  const sampled = verifyFold({ inputs, spec, claimed: block, check: { kind: 'sampled', count: 64, seed: 9 } })
  assert.equal(sampled.ok, false)
  assert.ok(sampled.mismatches >= 1)
  // −0 where the fold gives +0 is a different commit: comparison is on bits, not on ==
  const zero = [{ id: 'a', update: Float32Array.of(0), weight: 1 }]
  assert.equal(verifyFold({ inputs: zero, spec, claimed: Float32Array.of(0), check: { kind: 'full' } }).ok, true)
  assert.equal(verifyFold({ inputs: zero, spec, claimed: Float32Array.of(-0), check: { kind: 'full' } }).ok, false)
})

test('a commit that dropped an update or used the wrong rule fails', () => {
  const inputs = makeUpdates(7, 500, 42)
  const spec = parseFoldSpec('mean')
  const partial = fold(inputs.slice(1), spec).aggregate
  assert.equal(verifyFold({ inputs, spec, claimed: partial, check: { kind: 'sampled', count: 32, seed: 1 } }).ok, false)
  const median = fold(inputs, parseFoldSpec('median')).aggregate
  assert.equal(verifyFold({ inputs, spec, claimed: median, check: { kind: 'sampled', count: 32, seed: 1 } }).ok, false)
})

test('a claim of the wrong length fails without throwing', () => {
  const inputs = makeUpdates(3, 10, 43)
  const r = verifyFold({ inputs, spec: parseFoldSpec('mean'), claimed: new Float32Array(9), check: { kind: 'full' } })
  assert.deepEqual(r, { ok: false, lengthOk: false, checked: 0, mismatches: 0 })
})

test('the outer step is verifiable in full and on samples', () => {
  const inputs = makeUpdates(5, 800, 44)
  const delta = fold(inputs, parseFoldSpec('mean')).aggregate
  const opt = new OuterOptimizer({ lr: 0.7, momentum: 0.9 })
  const theta = Float32Array.from({ length: 800 }, (_, j) => Math.sin(j))
  const state = opt.step(theta, delta, opt.initialState()).state
  const next = opt.step(theta, delta, state).theta
  for (const check of [{ kind: 'full' as const }, { kind: 'sampled' as const, count: 50, seed: 3 }]) {
    assert.equal(verifyOuterStep({ optimizer: opt, theta, delta, state, claimedTheta: next, check }).ok, true)
    // a commit computed without momentum is a different model
    const noMomentum = opt.step(theta, delta, opt.initialState()).theta
    assert.equal(verifyOuterStep({ optimizer: opt, theta, delta, state, claimedTheta: noMomentum, check }).ok, false)
  }
})

test('sampleCoordinates draws distinct ascending indices reproducibly', () => {
  const a = sampleCoordinates(1000, 100, 'x')
  assert.equal(a.length, 100)
  assert.equal(new Set(a).size, 100)
  for (let i = 1; i < a.length; i++) assert.ok(a[i - 1] < a[i])
  assert.ok(a.every(v => v >= 0 && v < 1000))
  assert.deepEqual(sampleCoordinates(1000, 100, 'x'), a)
  assert.notDeepEqual(sampleCoordinates(1000, 100, 'y'), a)
  assert.equal(sampleCoordinates(5, 10, 1).length, 5)
  assert.throws(() => sampleCoordinates(5, 0, 1), (e: unknown) => e instanceof AggregateError && e.code === AggregateErrorCode.BadParameter)
  // roughly uniform: the mean index is near the middle
  const big = sampleCoordinates(100000, 5000, 2)
  const mean = big.reduce((s, v) => s + v, 0) / big.length
  assert.ok(Math.abs(mean - 50000) < 2500)
})
