// Tests of the outer optimizer: FedAvg identity, Nesterov arithmetic, purity, state as a function of the commit chain.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OuterOptimizer, FEDAVG_OUTER, DILOCO_OUTER, weightedMean, AggregateError, AggregateErrorCode, type OuterState } from '../../src/aggregate/index.js'
import { Rng } from '../../src/tensor/rng.js'
import { sameBytes } from './helpers.js'

const code = (c: AggregateErrorCode) => (e: unknown) => e instanceof AggregateError && e.code === c

test('FedAvg (lr 1, no momentum) makes the new model the weighted mean of the local models', () => {
  const rng = new Rng(30)
  const theta = Float32Array.from({ length: 100 }, () => rng.normal())
  const locals = [1, 2, 3].map(() => Float32Array.from(theta, v => v + rng.normal() * 0.1))
  const weights = [10, 20, 70]
  const deltas = locals.map((l, i) => ({ id: `u${i}`, update: Float32Array.from(theta, (v, j) => v - l[j]), weight: weights[i] }))
  const opt = new OuterOptimizer(FEDAVG_OUTER)
  const { theta: next, state } = opt.step(theta, weightedMean(deltas), opt.initialState())
  for (let j = 0; j < 100; j++) {
    const ref = locals.reduce((a, l, i) => a + weights[i] * l[j], 0) / 100
    assert.ok(Math.abs(next[j] - ref) < 1e-6)
  }
  assert.equal(state.velocity, null)
  assert.equal(state.step, 1)
})

test('Nesterov momentum follows v ← μv + Δ, θ ← θ − lr(Δ + μv)', () => {
  const opt = new OuterOptimizer({ lr: 0.5, momentum: 0.9, nesterov: true })
  const theta = Float32Array.of(1, -2)
  const d1 = Float32Array.of(0.5, 0.25)
  const s1 = opt.step(theta, d1, opt.initialState())
  // v1 = Δ1, g = Δ1 + 0.9 Δ1 = 1.9 Δ1
  assert.deepEqual([...s1.state.velocity ?? []], [0.5, 0.25])
  assert.deepEqual([...s1.theta], [Math.fround(1 - 0.5 * 0.95), Math.fround(-2 - 0.5 * 0.475)])
  const d2 = Float32Array.of(-1, 0)
  const s2 = opt.step(s1.theta, d2, s1.state)
  const v2 = [Math.fround(0.9 * 0.5 - 1), Math.fround(0.9 * 0.25)]
  assert.deepEqual([...s2.state.velocity ?? []], v2)
  assert.equal(s2.theta[0], Math.fround(s1.theta[0] - 0.5 * (-1 + 0.9 * v2[0])))
  assert.equal(s2.state.step, 2)
  // heavy-ball: g = v
  const hb = new OuterOptimizer({ lr: 0.5, momentum: 0.9, nesterov: false })
  assert.deepEqual([...hb.step(theta, d1, hb.initialState()).theta], [Math.fround(1 - 0.25), Math.fround(-2 - 0.125)])
})

test('step is pure and stepAt matches it coordinate by coordinate', () => {
  const rng = new Rng(31)
  const opt = new OuterOptimizer(DILOCO_OUTER)
  const theta = Float32Array.from({ length: 500 }, () => rng.normal())
  const state: OuterState = { step: 3, velocity: Float32Array.from({ length: 500 }, () => rng.normal() * 0.01) }
  const delta = Float32Array.from({ length: 500 }, () => rng.normal() * 0.01)
  const copies = [theta.slice(), state.velocity?.slice(), delta.slice()]
  const r = opt.step(theta, delta, state)
  assert.deepEqual([theta, state.velocity, delta], copies)
  for (let j = 0; j < 500; j++) {
    const c = opt.stepAt(theta, delta, state, j)
    assert.ok(Object.is(c.theta, r.theta[j]) && Object.is(c.velocity, r.state.velocity?.[j]))
  }
})

test('two members replaying the same commit chain hold identical model and momentum bytes', () => {
  const rng = new Rng(32)
  const aggregates = Array.from({ length: 6 }, () => Float32Array.from({ length: 300 }, () => rng.normal() * 0.01))
  const theta0 = Float32Array.from({ length: 300 }, () => rng.normal())
  const replay = (): { theta: Float32Array, state: OuterState } => {
    const opt = new OuterOptimizer({ lr: 0.7, momentum: 0.9 })
    let cur: { theta: Float32Array, state: OuterState } = { theta: theta0, state: opt.initialState() }
    for (const a of aggregates) cur = opt.step(cur.theta, a, cur.state)
    return cur
  }
  const a = replay()
  const b = replay()
  assert.ok(sameBytes(a.theta, b.theta))
  assert.ok(a.state.velocity !== null && b.state.velocity !== null && sameBytes(a.state.velocity, b.state.velocity))
  // and a member that resumes from a persisted state continues identically
  const opt = new OuterOptimizer({ lr: 0.7, momentum: 0.9 })
  let mid: { theta: Float32Array, state: OuterState } = { theta: theta0, state: opt.initialState() }
  for (const agg of aggregates.slice(0, 3)) mid = opt.step(mid.theta, agg, mid.state)
  const resumed: { theta: Float32Array, state: OuterState } = { theta: mid.theta.slice(), state: { step: mid.state.step, velocity: mid.state.velocity?.slice() ?? null } }
  let cur = resumed
  for (const agg of aggregates.slice(3)) cur = new OuterOptimizer({ lr: 0.7, momentum: 0.9 }).step(cur.theta, agg, cur.state)
  assert.ok(sameBytes(cur.theta, a.theta))
})

test('bad options and mismatched state fail with typed errors', () => {
  assert.throws(() => new OuterOptimizer({ lr: 0 }), code(AggregateErrorCode.BadParameter))
  assert.throws(() => new OuterOptimizer({ momentum: 1 }), code(AggregateErrorCode.BadParameter))
  assert.throws(() => new OuterOptimizer({ momentum: -0.1 }), code(AggregateErrorCode.BadParameter))
  const opt = new OuterOptimizer()
  assert.deepEqual(opt.options, DILOCO_OUTER)
  assert.throws(() => opt.step(new Float32Array(3), new Float32Array(2), opt.initialState()), code(AggregateErrorCode.LengthMismatch))
  assert.throws(() => opt.step(new Float32Array(3), new Float32Array(3), { step: 0, velocity: new Float32Array(2) }), code(AggregateErrorCode.LengthMismatch))
  assert.throws(() => opt.step(new Float32Array(1), Float32Array.of(NaN), opt.initialState()), code(AggregateErrorCode.NonFinite))
})
