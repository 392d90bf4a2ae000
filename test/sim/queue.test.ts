// Tests of the event queue: time order, FIFO among equal times, agreement with a stable sort.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { EventQueue } from '../../src/sim/queue.js'
import { SimErrorCode } from '../../src/sim/errors.js'
import { Rng } from '../../src/tensor/rng.js'

function drain<T> (q: EventQueue<T>): Array<{ time: number, item: T }> {
  const out: Array<{ time: number, item: T }> = []
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e)
  return out
}

test('pops in time order and reports size and peek', () => {
  const q = new EventQueue<string>()
  assert.equal(q.size, 0)
  assert.equal(q.pop(), undefined)
  assert.equal(q.peekTime(), undefined)
  q.push(5, 'e'); q.push(1, 'a'); q.push(3, 'c'); q.push(-2, 'neg'); q.push(Infinity, 'never')
  assert.equal(q.size, 5)
  assert.equal(q.peekTime(), -2)
  assert.equal(q.peek(), 'neg')
  assert.deepEqual(drain(q).map(e => e.item), ['neg', 'a', 'c', 'e', 'never'])
  assert.equal(q.size, 0)
})

test('equal times pop first-in first-out, also across growth and interleaving', () => {
  const q = new EventQueue<number>(2)
  for (let i = 0; i < 1000; i++) q.push(i % 3, i)
  const first = q.pop()
  assert.deepEqual(first, { time: 0, item: 0 })
  q.push(0, 1000) // a late event at an already-queued time goes behind the earlier ones
  const out = drain(q)
  const zeros = out.filter(e => e.time === 0).map(e => e.item)
  assert.deepEqual(zeros, [...Array.from({ length: 333 }, (_, k) => 3 * (k + 1)), 1000])
  for (const t of [1, 2]) {
    const items = out.filter(e => e.time === t).map(e => e.item)
    assert.deepEqual(items, [...items].sort((a, b) => a - b))
  }
})

test('any interleaving of pushes and pops matches a stable sort of what was pushed', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 300 }),
    (ops) => {
      const q = new EventQueue<number>(1)
      let pending: Array<{ time: number, item: number }> = []
      let id = 0
      for (const op of ops) {
        if (op >= 0) { q.push(op, id); pending.push({ time: op, item: id++ }); continue }
        const got = q.pop()
        // stable sort by time = (time, insertion order)
        pending = pending.sort((a, b) => a.time - b.time)
        assert.deepEqual(got, pending.shift())
      }
      assert.deepEqual(drain(q), pending.sort((a, b) => a.time - b.time))
    }
  ))
})

test('a million random events come out sorted with FIFO ties', () => {
  const rng = new Rng(7)
  const q = new EventQueue<number>()
  const n = 1_000_000
  for (let i = 0; i < n; i++) q.push(rng.int(1000) * 0.5, i)
  assert.equal(q.size, n)
  let prevT = -Infinity
  let prevI = -1
  for (let e = q.pop(); e !== undefined; e = q.pop()) {
    assert.ok(e.time > prevT || (e.time === prevT && e.item > prevI), `order broken at ${e.time}/${e.item}`)
    prevT = e.time
    prevI = e.item
  }
})

test('refuses a NaN time with a typed error; clear keeps FIFO order afterwards', () => {
  const q = new EventQueue<string>()
  assert.throws(() => q.push(NaN, 'x'), (e: any) => e.code === SimErrorCode.CONFIG)
  q.push(1, 'a')
  q.clear()
  assert.equal(q.size, 0)
  q.push(1, 'b'); q.push(1, 'c')
  assert.deepEqual(drain(q).map(e => e.item), ['b', 'c'])
})
