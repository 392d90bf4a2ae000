// Tests of the network model: uplink FIFO queueing, TCP slow start, lossy transfers round trip by
// round trip (reno.ts) against the Mathis rate, the connection's window kept between transfers,
// retransmission timeouts, presence, accounting, determinism.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NetworkModel, sendingMs, slowStart, type NetworkOptions } from '../../src/sim/network.js'
import { freshConnection, mathisSegmentsPerMs, renoSendingMs, restartAfterIdle } from '../../src/sim/reno.js'
import { buildTopology, parseEdgeList, type LinkSpec, type TopologySpec } from '../../src/sim/topology.js'
import { SimErrorCode } from '../../src/sim/errors.js'
import { Rng } from '../../src/tensor/rng.js'

const MB = 1e6
const LINK: LinkSpec = { latencyMs: 20, bandwidthMBps: 10, loss: 0 }

/** Most tests check the fluid arithmetic (a transfer at its full rate from the first byte); slow start has tests of its own. */
function net (n: number, link: LinkSpec = LINK, opts?: NetworkOptions, spec: TopologySpec = { kind: 'full' }, seed = 1): NetworkModel {
  return new NetworkModel(buildTopology(spec, n, link, new Rng(seed)), new Rng(seed).fork('net'), { initialWindow: Infinity, ...opts })
}
const code = (c: string) => (e: any): boolean => { assert.equal(e.code, c, e.message); return true }
const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`)

test('one 10 MB download: request latency, then bytes at the link rate, then the last byte\'s latency', () => {
  const m = net(3)
  close(m.transferArrival(100, 0, 1, 10 * MB)!, 100 + 20 + 1000 + 20, 'arrival')
})

test('two simultaneous downloads from one provider finish at ~1× and ~2× the single time', () => {
  const single = net(3).transferArrival(0, 0, 1, 10 * MB)!
  const m = net(3)
  const first = m.transferArrival(0, 0, 1, 10 * MB)!
  const second = m.transferArrival(0, 0, 2, 10 * MB)!
  close(first, single, 'first')
  close(second, single + 1000, 'second waits for the uplink')
  assert.ok(Math.abs(second / single - 2) < 0.05, `ratio ${second / single}`)
  // a different provider's uplink is free, and a request after the queue drains does not wait
  close(m.transferArrival(0, 1, 2, 10 * MB)!, single, 'other provider')
  close(m.transferArrival(5000, 0, 1, 10 * MB)! - 5000, single, 'after the queue drained')
})

test('the slowest of path, uplink and downlink sets the rate; a path-limited flow leaves the uplink to others', () => {
  close(net(2, LINK, { uplinkMBps: () => 2 }).transferArrival(0, 0, 1, 10 * MB)!, 20 + 5000 + 20, 'uplink 2 MB/s')
  // uplink 100 MB/s over 10 MB/s paths: the second flow starts after the uplink's 100 ms share, not after the first flow
  const wide = net(3, LINK, { uplinkMBps: () => 100 })
  close(wide.transferArrival(0, 0, 1, 10 * MB)!, 1040, 'first')
  close(wide.transferArrival(0, 0, 2, 10 * MB)!, 1140, 'second')
  // with a modelled downlink, one receiver pulling from two providers queues at its own end
  const agg = net(3, LINK, { uplinkMBps: () => 100, downlinkMBps: () => 10 })
  close(agg.transferArrival(0, 1, 0, 10 * MB)!, 1040, 'first update')
  close(agg.transferArrival(0, 2, 0, 10 * MB)!, 2040, 'second update waits for the downlink')
  // a multi-hop path's bottleneck link bounds the rate; latency adds up along it
  const edges = parseEdgeList('0 1 5 100\n1 2 15 4\n')
  const chain = net(3, LINK, { uplinkMBps: () => 100 }, { kind: 'edges', edges })
  close(chain.transferArrival(0, 0, 2, 4 * MB)!, 20 + 1000 + 20, 'bottleneck 4 MB/s, 20 ms path')
})

test('slow start: the window starts at 10 segments and doubles every round trip until it carries the rate', () => {
  const iw = 10 * 1460
  // 206,820 B at 5 MB/s over a 40 ms round trip (bandwidth-delay product 200 kB): windows of 14.6, 29.2
  // and 58.4 kB take a round trip each, then the last 104.6 kB stream at the rate
  close(sendingMs(206_820, 5, 40, iw), 3 * 40 + (206_820 - 7 * iw) / 5e3, '3 round trips then the rest')
  // a blob inside the first window goes at the rate; a long one pays the ramp once
  close(sendingMs(10_000, 5, 40, iw), 2, 'one window')
  const ramp = sendingMs(100 * MB, 5, 40, iw) - 100 * MB / 5e3
  assert.ok(ramp > 0 && ramp < 5 * 40, `ramp ${ramp}`)
  // no round trip, or a window already covering the bandwidth-delay product: the fluid time
  close(sendingMs(MB, 5, 0, iw), 200, 'no round trip')
  close(sendingMs(MB, 5, 40, Infinity), 200, 'open window')
  // in the model: the default initial window is 10 segments, and slow start leaves the uplink to the next flow
  const m = new NetworkModel(buildTopology({ kind: 'full' }, 3, { latencyMs: 20, bandwidthMBps: 5, loss: 0 }, new Rng(1)), new Rng(1).fork('net'))
  const first = m.transferArrival(0, 0, 1, 206_820)!
  close(first, 20 + sendingMs(206_820, 5, 40, iw) + 20, 'one update')
  close(m.transferArrival(0, 0, 2, 206_820)!, first + 206_820 / 5e3, 'the second starts once the first\'s bytes left the uplink')
})

test('lossy long transfers average the Mathis rate (SACK, RACK and tail probes leave few timeouts); four times the loss, half the rate', () => {
  // 3000 segments over a 100 ms RTT, the link far faster than the loss allows: ~250 round trips drawn one by one
  const rate = (loss: number): number => {
    const rng = new Rng(5)
    const path = { rttMs: 100, segmentsPerMs: 1e6 / 1460, loss, rtoMs: 300, initialWindow: 10 }
    let ms = 0
    for (let i = 0; i < 300; i++) ms += renoSendingMs(3000, path, rng)
    return 3000 * 300 / ms
  }
  for (const loss of [0.01, 0.04]) {
    const mathis = mathisSegmentsPerMs(100, loss)
    assert.ok(Math.abs(rate(loss) / mathis - 1) < 0.1, `p ${loss}: ${rate(loss)} segments/ms, Mathis ${mathis}`)
  }
  const ratio = rate(0.01) / rate(0.04)
  assert.ok(ratio > 1.7 && ratio < 2.3, `1 % against 4 %: ${ratio}×`)
  // the model's transfers: 10 MB at 1000 MB/s over 100 ms takes the Mathis time, not the link's 10 ms
  const m = net(2, { latencyMs: 50, bandwidthMBps: 1000, loss: 0.01 }, { initialWindow: 10 })
  const t = m.transferArrival(0, 0, 1, 10 * MB)! - 100
  const expected = Math.ceil(10 * MB / 1460) / mathisSegmentsPerMs(100, 0.01)
  assert.ok(Math.abs(t / expected - 1) < 0.25, `10 MB: ${t} ms, Mathis ${expected}`)
})

test('a connection keeps its window between transfers: restarted after idle as Linux does, a lowered threshold stays', () => {
  // idle shorter than an RTO: nothing changes
  const busy = { cwnd: 20, ssthresh: 8, lastSentAt: 0 }
  restartAfterIdle(busy, 200, 240, 10)
  assert.deepEqual(busy, { cwnd: 20, ssthresh: 8, lastSentAt: 0 })
  // a second idle: the threshold keeps 3/4 of the window, the window halves per RTO idle down to the initial window
  const idle = { cwnd: 20, ssthresh: 8, lastSentAt: 0 }
  restartAfterIdle(idle, 1000, 240, 10)
  assert.deepEqual(idle, { cwnd: 10, ssthresh: 15, lastSentAt: 0 })
  // a window below the initial one is not raised
  const small = { cwnd: 2, ssthresh: 2, lastSentAt: 0 }
  restartAfterIdle(small, 1000, 240, 10)
  assert.deepEqual(small, { cwnd: 2, ssthresh: 2, lastSentAt: 0 })
  // from a threshold of 10 the 142 segments of an update climb one segment per round trip: 10 + 11 + … + 18, then the last 16
  const path = { rttMs: 40, segmentsPerMs: 2000 / 1460, loss: 1e-12, rtoMs: 240, initialWindow: 10 }
  const fresh = renoSendingMs(142, path, new Rng(1))
  const slow = renoSendingMs(142, path, new Rng(1), { cwnd: 10, ssthresh: 10, lastSentAt: 0 })
  close(fresh, sendingMs(142 * 1460, 2, 40, 10 * 1460), 'a fresh connection: slow start')
  close(slow, 9 * 40 + 16 / path.segmentsPerMs, 'congestion avoidance from 10 segments')
  // the transfer leaves its window and threshold on the connection; a loss lowers the threshold
  const conn = freshConnection(10)
  renoSendingMs(3000, { ...path, loss: 0.01 }, new Rng(3), conn)
  assert.ok(Number.isFinite(conn.ssthresh) && conn.ssthresh >= 2 && conn.cwnd >= 1, JSON.stringify(conn))
  // in the model, updates every 3 s over one lossy connection take longer once it has lost segments than on fresh connections
  const lossy = { latencyMs: 20, bandwidthMBps: 2, loss: 0.01 }
  const kept = net(2, lossy, { initialWindow: 10 })
  const warm: number[] = []
  const cold: number[] = []
  for (let i = 0; i < 400; i++) {
    warm.push(kept.transferArrival(i * 3000, 0, 1, 206_820)! - i * 3000)
    cold.push(net(2, lossy, { initialWindow: 10 }, { kind: 'full' }, i + 1).transferArrival(0, 0, 1, 206_820)!)
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  assert.ok(median(warm) > 1.5 * median(cold), `median ${median(warm)} ms on a kept connection, ${median(cold)} ms on fresh ones`)
})

test('a short lossy transfer: lossless time when no segment is lost, a long tail of fast retransmits and timeouts', () => {
  // 142 segments (one 207 kB update) over 40 ms RTT at 2 MB/s with 1 % loss, the links bench's lossy shape
  const rng = new Rng(7)
  const path = { rttMs: 40, segmentsPerMs: 2000 / 1460, loss: 0.01, rtoMs: 240, initialWindow: 10 }
  const xs = Array.from({ length: 4000 }, () => renoSendingMs(142, path, rng)).sort((a, b) => a - b)
  const lossless = renoSendingMs(142, { ...path, loss: 1e-12 }, new Rng(1))
  close(lossless, sendingMs(142 * 1460, 2, 40, 10 * 1460), 'no loss: slow start then the link rate, as sendingMs')
  assert.ok(xs[0] >= lossless - 1e-6, 'never faster than without loss')
  // P(no loss among 142 segments) = 0.99^142 ≈ 0.24
  const clean = xs.filter(x => Math.abs(x - lossless) < 1e-6).length / xs.length
  assert.ok(Math.abs(clean - 0.99 ** 142) < 0.03, `${clean} of the transfers lost nothing`)
  const p90 = xs[Math.floor(0.9 * xs.length)]
  assert.ok(p90 > lossless + path.rtoMs, `p90 ${p90} ms: a tenth of the transfers wait out a timeout (${lossless} ms lossless)`)
  // the same seed draws the same times
  assert.equal(renoSendingMs(142, path, new Rng(9)), renoSendingMs(142, path, new Rng(9)))
  // lossless paths draw nothing and are sendingMs exactly
  const cleanNet = net(2, { latencyMs: 20, bandwidthMBps: 2, loss: 0 })
  for (let i = 0; i < 100; i++) close(cleanNet.transferArrival(i * 1e6, 0, 1, 206_820)! - i * 1e6, 40 + 206_820 / 2e3, 'lossless')
})

test('messages: latency plus serialisation; lost packets cost retransmission timeouts (RTT + 200 ms, doubling)', () => {
  const ring = net(6, LINK, {}, { kind: 'ring' })
  close(ring.messageArrival(10, 0, 3, 1000)!, 10 + 60 + 0.1, 'three hops plus 1000 B at 10 MB/s')
  assert.equal(ring.messageArrival(10, 4, 4, 1000), 10)
  const lossy = net(2, { latencyMs: 20, bandwidthMBps: 10, loss: 0.3 })
  let late = 0
  const trials = 4000
  const rto = 40 + 200
  for (let i = 0; i < trials; i++) {
    const extra = lossy.messageArrival(0, 0, 1, 100)! - 20 - 0.01
    // x lost rounds wait RTO + 2·RTO + … = RTO·(2^x − 1)
    const rounds = Math.log2(extra / rto + 1)
    assert.ok(Math.abs(rounds - Math.round(rounds)) < 1e-6 && rounds <= 8, `extra ${extra}`)
    if (rounds >= 1) late++
  }
  close(lossy.rtoMs(lossy.topology.path(0, 1)), rto, 'first timeout')
  const quick = net(2, { latencyMs: 20, bandwidthMBps: 10, loss: 0.3 }, { rtoMinMs: 0 })
  for (let i = 0; i < 100; i++) {
    const rounds = Math.log2((quick.messageArrival(0, 0, 1, 100)! - 20 - 0.01) / 40 + 1)
    assert.ok(Math.abs(rounds - Math.round(rounds)) < 1e-6, 'rtoMinMs 0: timeouts of one round trip, doubling')
  }
  // one packet: a retransmission happens with probability p = 0.3
  assert.ok(Math.abs(late / trials - 0.3) < 0.03, `retransmitted ${late / trials}`)
  // more packets, more chances to lose one
  let lateBig = 0
  for (let i = 0; i < trials; i++) if (lossy.messageArrival(0, 0, 1, 10 * 1460)! - 20 - 1.46 > 1) lateBig++
  assert.ok(lateBig / trials > 0.9, `10 packets retransmitted ${lateBig / trials}`)
})

test('a message waits behind the blob before it on its connection, for at most what the sender\'s socket holds', () => {
  // measured (docs/researchers.md): over libp2p a 100-byte reply behind a 207 kB blob on the same
  // connection ends with the blob; the socket holds about one window, the muxer keeps the rest back
  const link = { latencyMs: 20, bandwidthMBps: 2, loss: 0 }
  const m = net(2, link, { initialWindow: 10 })
  const arrives = m.transferArrival(0, 0, 1, 206_820)!
  const leaves = arrives - 20
  const w = slowStart(206_820, 2, 40, 10 * 1460).windowBytes
  close(m.messageArrival(100, 0, 1, 100)!, Math.min(leaves, 100 + w / 2e3) + 20 + 100 / 2e3, 'behind the blob')
  close(m.messageArrival(100, 1, 0, 100)!, 100 + 20 + 100 / 2e3, 'the other way is free')
  close(m.messageArrival(leaves + 1, 0, 1, 100)!, leaves + 1 + 20 + 100 / 2e3, 'once the blob has left')
  // over separate connections nothing waits
  const apart = net(2, link, { initialWindow: 10, sharedConnections: false })
  apart.transferArrival(0, 0, 1, 206_820)
  close(apart.messageArrival(100, 0, 1, 100)!, 100 + 20 + 100 / 2e3, 'own connection')
  // a window-limited (lossy) flow leaves about one window in the socket: one round trip
  const lossy = net(2, { latencyMs: 20, bandwidthMBps: 2, loss: 0.01 }, { initialWindow: 10 }, { kind: 'full' }, 3)
  const end = lossy.transferArrival(0, 0, 1, 2_000_000)! - 20
  assert.ok(end > 500, `a 2 MB lossy transfer takes a while (${end} ms)`)
  const at = lossy.messageArrival(200, 0, 1, 100)!
  assert.ok(at >= 200 + 40 + 20 && at < 200 + 40 + 20 + 300, `one round trip behind, plus any retransmission (${at})`)
})

test('messages keep a connection\'s window open; a connection idle past the RTO restarts in slow start', () => {
  const link = { latencyMs: 20, bandwidthMBps: 2, loss: 0 }
  const time = (chatter: boolean): number => {
    const m = net(2, link, { initialWindow: 10 })
    m.transferArrival(0, 0, 1, 206_820)
    if (chatter) for (let t = 300; t < 1000; t += 100) m.messageArrival(t, 0, 1, 300)
    return m.transferArrival(1000, 0, 1, 206_820)! - 1000
  }
  const fresh = 20 + sendingMs(206_820, 2, 40, 10 * 1460) + 20
  close(time(false), fresh, 'idle 1 s: slow start from 10 segments again')
  assert.ok(time(true) < fresh - 40, `with gossip between: ${time(true)} against ${fresh}`)
})

test('offline ends give null; going offline drops the queued uploads', () => {
  const m = net(3)
  assert.equal(m.isOnline(1), true)
  m.setOnline(1, false)
  assert.equal(m.isOnline(1), false)
  assert.equal(m.messageArrival(0, 0, 1, 100), null)
  assert.equal(m.messageArrival(0, 1, 0, 100), null)
  assert.equal(m.transferArrival(0, 0, 1, MB), null)
  assert.equal(m.transferArrival(0, 1, 0, MB), null)
  assert.equal(m.stats.transfers, 0)
  m.setOnline(1, true)
  assert.notEqual(m.messageArrival(0, 0, 1, 100), null)
  m.transferArrival(0, 0, 1, 10 * MB)
  m.setOnline(0, false)
  m.setOnline(0, true)
  close(m.transferArrival(0, 0, 2, 10 * MB)!, 1040, 'no queue left behind')
})

test('accounting: transfers charge both ends, broadcasts bytes × receivers, messages only count', () => {
  const m = net(4)
  m.transferArrival(0, 0, 1, 5 * MB)
  m.transferArrival(0, 2, 1, 3 * MB)
  m.messageArrival(0, 3, 1, 500)
  m.accountBroadcast(3, 500, 3)
  const s = m.stats
  assert.equal(s.transfers, 2)
  assert.equal(s.messages, 1)
  assert.equal(s.broadcastBytes, 1500)
  assert.equal(s.bytesTotal, 8 * MB + 1500)
  assert.deepEqual([...s.sentBy], [5 * MB, 0, 3 * MB, 1500])
  assert.deepEqual([...s.receivedBy], [0, 8 * MB, 0, 0])
})

test('the same seed gives the same times; bad settings are typed errors', () => {
  const run = (seed: number): number[] => {
    const m = net(50, { latencyMs: 15, bandwidthMBps: 20, loss: 0.05 }, {}, { kind: 'regular', degree: 4 }, seed)
    const out: number[] = []
    for (let i = 0; i < 200; i++) {
      out.push(m.messageArrival(i, i % 50, (i * 7 + 1) % 50, 2000)!)
      out.push(m.transferArrival(i, (i * 3) % 50, (i * 11 + 1) % 50, MB)!)
    }
    return out
  }
  assert.deepEqual(run(42), run(42))
  assert.notDeepEqual(run(42), run(43))
  assert.throws(() => net(3, LINK, { uplinkMBps: i => i === 2 ? 0 : 10 }), code(SimErrorCode.CONFIG))
  assert.throws(() => net(3, LINK, { downlinkMBps: () => NaN }), code(SimErrorCode.CONFIG))
  assert.throws(() => net(3, LINK, { mss: 0 }), code(SimErrorCode.CONFIG))
  assert.throws(() => net(3, LINK, { initialWindow: 0 }), code(SimErrorCode.CONFIG))
  assert.throws(() => net(3, LINK, { rtoMinMs: -1 }), code(SimErrorCode.CONFIG))
  const m = net(3)
  assert.throws(() => m.messageArrival(0, 0, 3, 1), code(SimErrorCode.NODE_RANGE))
  assert.throws(() => m.transferArrival(0, -1, 1, 1), code(SimErrorCode.NODE_RANGE))
  assert.throws(() => m.setOnline(1.5, true), code(SimErrorCode.NODE_RANGE))
  assert.throws(() => m.transferArrival(0, 0, 1, -5), code(SimErrorCode.CONFIG))
  assert.throws(() => m.accountBroadcast(0, 10, 1.5), code(SimErrorCode.CONFIG))
})
