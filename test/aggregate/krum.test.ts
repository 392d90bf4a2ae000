// Tests of Multi-Krum: Byzantine updates are not selected, parameter limits, order independence.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiKrum, krumSelect, canonicalInputs, weightedMean, AggregateError, AggregateErrorCode } from '../../src/aggregate/index.js'
import { Rng } from '../../src/tensor/rng.js'
import { makeUpdates, permute, sameBytes } from './helpers.js'

const code = (c: AggregateErrorCode) => (e: unknown) => e instanceof AggregateError && e.code === c

function attacked (honest: number, evil: number, p: number, seed: number): ReturnType<typeof makeUpdates> {
  const rng = new Rng(seed)
  const good = makeUpdates(honest, p, seed)
  const bad = Array.from({ length: evil }, (_, i) => ({ id: `evil${i}`, update: Float32Array.from({ length: p }, () => rng.normal() * 10), weight: 1000 }))
  return [...good, ...bad]
}

test('the f Byzantine updates are never among the selected', () => {
  for (const seed of [1, 2, 3]) {
    const inputs = attacked(10, 3, 400, seed)
    const r = multiKrum(inputs, { f: 3 })
    assert.equal(r.selected.length, 10)
    assert.ok(r.selected.every(id => !String(id).startsWith('evil')), r.selected.join(','))
  }
})

test('plain Krum (m = 1) picks one honest update and returns it unchanged', () => {
  const inputs = attacked(8, 2, 200, 4)
  const r = multiKrum(inputs, { f: 2, m: 1 })
  assert.equal(r.selected.length, 1)
  const chosen = inputs.find(u => u.id === r.selected[0])
  assert.ok(chosen !== undefined && !String(chosen.id).startsWith('evil'))
  assert.ok(sameBytes(r.aggregate, chosen.update))
})

test('with f = 0 and m = n it is the unweighted mean of all', () => {
  const inputs = makeUpdates(5, 100, 5).map(u => ({ ...u, weight: 1 }))
  const r = multiKrum(inputs, { f: 0, m: 5 })
  const m = weightedMean(inputs)
  for (let j = 0; j < 100; j++) assert.ok(Math.abs(r.aggregate[j] - m[j]) < 1e-9)
})

test('permuting arrival order gives identical bytes and selection', () => {
  const inputs = attacked(9, 2, 300, 6)
  const ref = multiKrum(inputs, { f: 2, m: 5 })
  for (let s = 0; s < 5; s++) {
    const r = multiKrum(permute(inputs, s), { f: 2, m: 5 })
    assert.ok(sameBytes(r.aggregate, ref.aggregate))
    assert.deepEqual(r.selected, ref.selected)
  }
})

test('scores are sums over the n − f − 2 nearest neighbours', () => {
  const inputs = [0, 1, 3, 10].map((v, i) => ({ id: `u${i}`, update: Float32Array.of(v), weight: 1 }))
  // n = 4, f = 0 → 2 neighbours
  const s = krumSelect(canonicalInputs(inputs), { f: 0, m: 1 })
  assert.deepEqual([...s.scores], [1 + 9, 1 + 4, 4 + 9, 49 + 81])
  assert.deepEqual(s.selected, [1])
})

test('f too large or bad m fail with typed errors', () => {
  const inputs = makeUpdates(6, 10, 7)
  assert.throws(() => multiKrum(inputs, { f: 2 }), code(AggregateErrorCode.KrumTooManyFaulty))
  assert.doesNotThrow(() => multiKrum(inputs, { f: 1 }))
  assert.throws(() => multiKrum(inputs, { f: -1 }), code(AggregateErrorCode.BadParameter))
  assert.throws(() => multiKrum(inputs, { f: 1, m: 6 }), code(AggregateErrorCode.BadParameter))
  assert.throws(() => multiKrum(inputs, { f: 1, m: 0 }), code(AggregateErrorCode.BadParameter))
})
