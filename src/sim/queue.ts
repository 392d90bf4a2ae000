// Priority queue of simulator events: a binary min-heap on (time, insertion order), so events
// at equal times pop first-in first-out and a run is reproducible from its seed.

import { SimError, SimErrorCode } from './errors.js'

/** One popped event. */
export interface QueueEntry<T> {
  time: number
  item: T
}

const INITIAL_CAPACITY = 64

/**
 * Array-backed binary heap. Keys live in two parallel Float64Arrays and items in a plain
 * array, so a push allocates nothing (beyond amortised growth) and a pop allocates only the
 * returned entry — millions of events stay cheap and the GC sees no per-event objects.
 * The tie-break is an insertion counter (a float: exact up to 2^53 pushes), not heap
 * position, because a binary heap is not stable on its own.
 */
export class EventQueue<T> {
  private times: Float64Array
  private seqs: Float64Array
  private items: Array<T | undefined>
  private count = 0
  private nextSeq = 0

  constructor (initialCapacity = INITIAL_CAPACITY) {
    const cap = Math.max(1, Math.floor(initialCapacity))
    this.times = new Float64Array(cap)
    this.seqs = new Float64Array(cap)
    this.items = new Array<T | undefined>(cap)
  }

  /** number of queued events */
  get size (): number {
    return this.count
  }

  /** Queue `item` at `time`. NaN is refused: it compares false both ways and would corrupt the heap. */
  push (time: number, item: T): void {
    if (Number.isNaN(time)) throw new SimError(SimErrorCode.CONFIG, 'event time is NaN')
    if (this.count === this.times.length) this.grow()
    const seq = this.nextSeq++
    const times = this.times
    const seqs = this.seqs
    const items = this.items
    // sift up by moving a hole, one write per level instead of a swap
    let i = this.count++
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = times[p]
      if (pt < time || (pt === time && seqs[p] < seq)) break
      times[i] = pt
      seqs[i] = seqs[p]
      items[i] = items[p]
      i = p
    }
    times[i] = time
    seqs[i] = seq
    items[i] = item
  }

  /** Remove and return the earliest event (FIFO among equal times), or undefined when empty. */
  pop (): QueueEntry<T> | undefined {
    if (this.count === 0) return undefined
    const times = this.times
    const seqs = this.seqs
    const items = this.items
    const top: QueueEntry<T> = { time: times[0], item: items[0] as T }
    const last = --this.count
    const t = times[last]
    const s = seqs[last]
    const it = items[last]
    items[last] = undefined // drop the reference so popped items can be collected
    if (last > 0) {
      // sift the former last element down from the root
      let i = 0
      const half = last >> 1
      while (i < half) {
        let c = 2 * i + 1
        const r = c + 1
        if (r < last && (times[r] < times[c] || (times[r] === times[c] && seqs[r] < seqs[c]))) c = r
        const ct = times[c]
        if (t < ct || (t === ct && s < seqs[c])) break
        times[i] = ct
        seqs[i] = seqs[c]
        items[i] = items[c]
        i = c
      }
      times[i] = t
      seqs[i] = s
      items[i] = it
    }
    return top
  }

  /** time of the earliest event, or undefined when empty */
  peekTime (): number | undefined {
    return this.count === 0 ? undefined : this.times[0]
  }

  /** the earliest event's item without removing it, or undefined when empty */
  peek (): T | undefined {
    return this.count === 0 ? undefined : this.items[0]
  }

  /** Drop every event. The insertion counter keeps running so FIFO order holds across a clear. */
  clear (): void {
    this.items.fill(undefined, 0, this.count)
    this.count = 0
  }

  private grow (): void {
    const cap = this.times.length * 2
    const times = new Float64Array(cap)
    times.set(this.times)
    const seqs = new Float64Array(cap)
    seqs.set(this.seqs)
    this.times = times
    this.seqs = seqs
    this.items.length = cap
  }
}
