// Tests of topologies: spec and edge-list parsing, each kind's shape, refusals, and shortest paths.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  buildTopology, parseTopology, parseEdgeList, edgeListPath, formatTopology, regionOf,
  type LinkSpec, type Topology, type TopologySpec, type EdgeSpec
} from '../../src/sim/topology.js'
import { SimErrorCode, EdgeListError, type EdgeListProblem } from '../../src/sim/errors.js'
import { Rng } from '../../src/tensor/rng.js'

const LINK: LinkSpec = { latencyMs: 10, bandwidthMBps: 100, loss: 0 }
const build = (spec: TopologySpec, n: number, seed = 1, link = LINK): Topology => buildTopology(spec, n, link, new Rng(seed))
const code = (c: string) => (e: any): boolean => { assert.equal(e.code, c, e.message); return true }

/** every node reachable and every path finite: what buildTopology promises for any graph */
function assertConnected (t: Topology): void {
  for (let i = 0; i < t.n; i++) assert.ok(Number.isFinite(t.path(i, 0).latencyMs), `node ${i} unreachable`)
}

/** neighbour lists are simple (no loops, no repeats) and symmetric */
function assertSimple (t: Topology): void {
  let sum = 0
  for (let i = 0; i < t.n; i++) {
    const nb = [...t.neighbors(i)]
    sum += nb.length
    assert.equal(nb.length, t.degree(i))
    assert.equal(new Set(nb).size, nb.length, `repeated neighbour at ${i}`)
    assert.ok(!nb.includes(i), `self loop at ${i}`)
    for (const j of nb) assert.ok(t.neighbors(j).includes(i), `${i}-${j} not symmetric`)
  }
  assert.equal(sum, 2 * t.linkCount)
}

test('parseTopology reads every kind and round-trips through formatTopology', () => {
  assert.deepEqual(parseTopology('full'), { kind: 'full' })
  assert.deepEqual(parseTopology(' ring '), { kind: 'ring' })
  assert.deepEqual(parseTopology('star'), { kind: 'star', hub: 0 })
  assert.deepEqual(parseTopology('star:3'), { kind: 'star', hub: 3 })
  assert.deepEqual(parseTopology('regular:6'), { kind: 'regular', degree: 6 })
  assert.deepEqual(parseTopology('smallworld:4:0.1'), { kind: 'smallworld', degree: 4, rewire: 0.1 })
  assert.deepEqual(parseTopology('regions:3:80'), { kind: 'regions', regions: 3, interLatencyMs: 80 })
  for (const s of ['full', 'ring', 'star:3', 'regular:6', 'smallworld:4:0.1', 'regions:3:80']) assert.equal(formatTopology(parseTopology(s)), s)
  const edges: EdgeSpec[] = [{ a: 0, b: 1 }]
  assert.deepEqual(parseTopology('edges:/tmp/my:graph.txt', edges), { kind: 'edges', edges })
  assert.equal(edgeListPath('edges:/tmp/my:graph.txt'), '/tmp/my:graph.txt')
  assert.equal(edgeListPath('ring'), undefined)
})

test('parseTopology refuses malformed specs with ERR_SIM_TOPOLOGY', () => {
  for (const s of ['', 'mesh', 'full:2', 'star:1:2', 'star:-1', 'regular', 'regular:x', 'regular:2.5', 'smallworld:4',
    'smallworld:3:0.1', 'smallworld:4:1.5', 'smallworld:4:-0.1', 'smallworld:4:abc', 'regions:0:10', 'regions:2:-5', 'regions:2', 'edges:foo']) {
    assert.throws(() => parseTopology(s), code(SimErrorCode.TOPOLOGY), s)
  }
})

test('parseEdgeList reads comments, blank lines, separators and optional link fields', () => {
  const text = '# a triangle\n0 1\n\n1 2 5   # five ms\n2,0,7,50,0.01\r\n'
  assert.deepEqual(parseEdgeList(text), [
    { a: 0, b: 1, line: 2 },
    { a: 1, b: 2, link: { latencyMs: 5 }, line: 4 },
    { a: 2, b: 0, link: { latencyMs: 7, bandwidthMBps: 50, loss: 0.01 }, line: 5 }
  ])
})

test('parseEdgeList errors name the line', () => {
  const cases: Array<[string, number, EdgeListProblem, string?]> = [
    ['0 1\n2\n', 2, 'field-count'],
    ['0 1 2 3 0.1 9\n', 1, 'field-count'],
    ['# c\n0 x\n', 2, 'bad-node'],
    ['0 -1\n', 1, 'bad-node'],
    ['0 1\n3 3\n', 2, 'self-loop'],
    ['0 1\n\n1 0\n', 3, 'duplicate'],
    ['0 1 -5\n', 1, 'bad-link', 'latencyMs'],
    ['0 1 5 0\n', 1, 'bad-link', 'bandwidthMBps'],
    ['0 1 5 10 1\n', 1, 'bad-link', 'loss'],
    ['0 1 5ms\n', 1, 'not-a-number', 'latencyMs']
  ]
  for (const [text, line, problem, field] of cases) {
    assert.throws(() => parseEdgeList(text), (e: any) => {
      assert.ok(e instanceof EdgeListError, text)
      assert.equal(e.code, SimErrorCode.EDGE_LIST)
      assert.equal(e.line, line, text)
      assert.equal(e.detail.line, line)
      assert.equal(e.problem, problem, text)
      assert.equal(e.field, field, text)
      return true
    })
  }
  assert.throws(() => parseEdgeList('0 1\n\n1 0\n'), (e: any) => e instanceof EdgeListError && e.detail.first === 1)
})

test('bad node counts, links and parameters are refused before anything is built', () => {
  const rng = new Rng(1)
  for (const n of [0, -1, 1.5, NaN, 1e9]) assert.throws(() => buildTopology({ kind: 'full' }, n, LINK, rng), code(SimErrorCode.CONFIG))
  for (const link of [{ ...LINK, latencyMs: -1 }, { ...LINK, bandwidthMBps: 0 }, { ...LINK, bandwidthMBps: Infinity }, { ...LINK, loss: 1 }, { ...LINK, loss: -0.1 }, { ...LINK, latencyMs: NaN }]) {
    assert.throws(() => buildTopology({ kind: 'ring' }, 4, link, rng), code(SimErrorCode.CONFIG))
  }
  const bad: Array<[TopologySpec, number, string]> = [
    [{ kind: 'nope' } as unknown as TopologySpec, 4, SimErrorCode.TOPOLOGY],
    [{ kind: 'star', hub: 4 }, 4, SimErrorCode.TOPOLOGY],
    [{ kind: 'regular', degree: 4 }, 4, SimErrorCode.TOPOLOGY],
    [{ kind: 'regular', degree: 3 }, 5, SimErrorCode.TOPOLOGY],
    [{ kind: 'regular', degree: 1 }, 6, SimErrorCode.DISCONNECTED],
    [{ kind: 'regular', degree: 0 }, 2, SimErrorCode.DISCONNECTED],
    [{ kind: 'smallworld', degree: 4, rewire: 2 }, 10, SimErrorCode.TOPOLOGY],
    [{ kind: 'smallworld', degree: 6, rewire: 0 }, 6, SimErrorCode.TOPOLOGY],
    [{ kind: 'regions', regions: 5, interLatencyMs: 1 }, 4, SimErrorCode.TOPOLOGY],
    [{ kind: 'edges', edges: [{ a: 0, b: 4, line: 7 }] }, 4, SimErrorCode.TOPOLOGY],
    [{ kind: 'edges', edges: [{ a: 1, b: 1 }] }, 4, SimErrorCode.TOPOLOGY],
    [{ kind: 'edges', edges: [{ a: 0, b: 1 }, { a: 1, b: 0 }] }, 2, SimErrorCode.TOPOLOGY],
    [{ kind: 'edges', edges: [{ a: 0, b: 1, link: { loss: 1 } }] }, 2, SimErrorCode.TOPOLOGY],
    [{ kind: 'edges', edges: [{ a: 0, b: 1 }, { a: 2, b: 3 }] }, 4, SimErrorCode.DISCONNECTED],
    [{ kind: 'edges', edges: [{ a: 0, b: 1 }] }, 3, SimErrorCode.DISCONNECTED]
  ]
  for (const [spec, n, c] of bad) assert.throws(() => buildTopology(spec, n, LINK, rng), code(c), JSON.stringify(spec))
  assert.throws(() => buildTopology({ kind: 'edges', edges: [{ a: 0, b: 9, line: 7 }] }, 4, LINK, rng), (e: any) => e.code === SimErrorCode.TOPOLOGY && e.detail.line === 7)
})

test('full mesh is implicit: 10,000 nodes, every path is the base link', () => {
  const t = build({ kind: 'full' }, 10_000)
  assert.equal(t.linkCount, 10_000 * 9_999 / 2)
  assert.equal(t.degree(123), 9_999)
  assert.deepEqual(t.path(3, 9_999), { latencyMs: 10, bandwidthMBps: 100, loss: 0, hops: 1 })
  assert.deepEqual(t.path(5, 5), { latencyMs: 0, bandwidthMBps: Infinity, loss: 0, hops: 0 })
  assert.throws(() => t.path(0, 10_000), code(SimErrorCode.NODE_RANGE))
  assert.deepEqual([...build({ kind: 'full' }, 4).neighbors(2)], [0, 1, 3])
})

test('ring: degree 2, latency grows with the shorter way round', () => {
  const t = build({ kind: 'ring' }, 10)
  assertSimple(t)
  for (let i = 0; i < 10; i++) assert.equal(t.degree(i), 2)
  assert.deepEqual(t.path(0, 3), { latencyMs: 30, bandwidthMBps: 100, loss: 0, hops: 3 })
  assert.deepEqual(t.path(0, 7), { latencyMs: 30, bandwidthMBps: 100, loss: 0, hops: 3 })
  assert.equal(t.path(2, 7).hops, 5)
  assert.equal(build({ kind: 'ring' }, 2).degree(0), 1)
  assert.equal(build({ kind: 'ring' }, 1).degree(0), 0)
})

test('star: the hub links everyone, leaves talk through it with loss compounded', () => {
  const t = build({ kind: 'star', hub: 2 }, 6, 1, { ...LINK, loss: 0.1 })
  assertSimple(t)
  assert.equal(t.degree(2), 5)
  for (const leaf of [0, 1, 3, 4, 5]) assert.equal(t.degree(leaf), 1)
  const p = t.path(0, 5)
  assert.equal(p.hops, 2)
  assert.equal(p.latencyMs, 20)
  assert.ok(Math.abs(p.loss - (1 - 0.9 * 0.9)) < 1e-12)
  assert.equal(t.path(2, 4).hops, 1)
})

test('regular: every node has degree d, simple, connected, reproducible from the seed', () => {
  for (const [n, d] of [[50, 3], [1000, 2], [200, 7], [12, 11]]) {
    const t = build({ kind: 'regular', degree: d }, n, 5)
    assertSimple(t)
    for (let i = 0; i < n; i++) assert.equal(t.degree(i), d)
    assertConnected(t)
  }
  const a = build({ kind: 'regular', degree: 4 }, 100, 9)
  const b = build({ kind: 'regular', degree: 4 }, 100, 9)
  const c = build({ kind: 'regular', degree: 4 }, 100, 10)
  const lists = (t: Topology): number[][] => Array.from({ length: t.n }, (_, i) => [...t.neighbors(i)])
  assert.deepEqual(lists(a), lists(b))
  assert.notDeepEqual(lists(a), lists(c))
})

test('smallworld: connected, keeps n·k/2 links, rewire 0 is the ring lattice', () => {
  const lattice = build({ kind: 'smallworld', degree: 4, rewire: 0 }, 20)
  assertSimple(lattice)
  for (let i = 0; i < 20; i++) assert.equal(lattice.degree(i), 4)
  assert.equal(lattice.path(0, 10).hops, 5)
  const t = build({ kind: 'smallworld', degree: 4, rewire: 0.3 }, 2000, 3)
  assertSimple(t)
  assert.equal(t.linkCount, 4000)
  assertConnected(t)
  // shortcuts: far fewer hops than the lattice's n/k ≈ 500 to the opposite side
  assert.ok(t.path(0, 1000).hops < 30)
})

test('regions: base latency within a region, interLatencyMs across', () => {
  const t = build({ kind: 'regions', regions: 3, interLatencyMs: 120 }, 10)
  assert.equal(regionOf(7, 3), 1)
  assert.equal(t.path(1, 7).latencyMs, 10)
  assert.equal(t.path(1, 2).latencyMs, 120)
  assert.equal(t.path(9, 0).latencyMs, 10)
  assert.equal(t.path(1, 2).hops, 1)
  assert.equal(t.degree(4), 9)
})

test('edges: shortest-latency path, bottleneck and loss along it, hop count', () => {
  // 0-1-2-3 is 3+3+3 = 9 ms; the direct 0-3 link is 20 ms; 1-4-3 is 2+2 but through a 5 MB/s link
  const edges = parseEdgeList('0 1 3 100\n1 2 3 40 0.1\n2 3 3 100 0.2\n0 3 20\n1 4 4 5\n4 3 4 100\n')
  const t = build({ kind: 'edges', edges }, 5)
  assertSimple(t)
  const p = t.path(0, 3)
  assert.equal(p.latencyMs, 9)
  assert.equal(p.hops, 3)
  assert.equal(p.bandwidthMBps, 40)
  assert.ok(Math.abs(p.loss - (1 - 0.9 * 0.8)) < 1e-12)
  assert.deepEqual(t.path(3, 0), p) // undirected: same answer from either tree
  assert.deepEqual(t.path(0, 4), { latencyMs: 7, bandwidthMBps: 5, loss: 0, hops: 2 })
  assert.equal(t.path(2, 0).latencyMs, 6)
  // an override field left undefined keeps the base value
  const partial = build({ kind: 'edges', edges: [{ a: 0, b: 1, link: { latencyMs: undefined, loss: 0.1 } }] }, 2)
  assert.deepEqual(partial.path(0, 1), { latencyMs: 10, bandwidthMBps: 100, loss: 0.1, hops: 1 })
})

test('equal latencies go to fewer hops, then the wider bottleneck', () => {
  // 0→3 costs 10 ms by 0-3 directly or by 0-1-3; 0→2→4 and 0→1→4 tie in hops too
  const edges = parseEdgeList('0 3 10 1\n0 1 5\n1 3 5\n0 2 5 30\n2 4 5 30\n1 4 5 80\n')
  const t = build({ kind: 'edges', edges }, 5, 1, { latencyMs: 1, bandwidthMBps: 100, loss: 0 })
  assert.deepEqual(t.path(0, 3), { latencyMs: 10, bandwidthMBps: 1, loss: 0, hops: 1 })
  assert.deepEqual(t.path(4, 0), { latencyMs: 10, bandwidthMBps: 80, loss: 0, hops: 2 })
})

test('Dijkstra matches Floyd–Warshall on random graphs, with a one-tree cache', () => {
  for (let seed = 0; seed < 20; seed++) {
    const rng = new Rng(seed)
    const n = 12
    const edges: EdgeSpec[] = []
    for (let i = 1; i < n; i++) edges.push({ a: rng.int(i), b: i, link: { latencyMs: 1 + rng.int(20) } })
    for (let k = 0; k < 10; k++) {
      const a = rng.int(n)
      const b = rng.int(n)
      if (a !== b && !edges.some(e => (e.a === a && e.b === b) || (e.a === b && e.b === a))) edges.push({ a, b, link: { latencyMs: 1 + rng.int(20) } })
    }
    const d = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => i === j ? 0 : Infinity))
    for (const e of edges) d[e.a][e.b] = d[e.b][e.a] = e.link!.latencyMs!
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i][j] = Math.min(d[i][j], d[i][k] + d[k][j])
    const t = buildTopology({ kind: 'edges', edges }, n, LINK, rng, { cacheTrees: 1 })
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.equal(t.path(i, j).latencyMs, d[i][j], `seed ${seed} ${i}->${j}`)
  }
})

test('10,000 nodes of degree 6: built connected, every node of degree 6, paths found', () => {
  // (build and Dijkstra speed are measured by \`npm run bench -- sim\` at 10,000 nodes, not asserted here)
  const t = build({ kind: 'regular', degree: 6 }, 10_000, 2)
  for (let s = 0; s < 7; s++) assert.ok(t.path(s * 1000 + 1, s * 1000).hops >= 1)
  assert.equal(t.degree(4321), 6)
  assertConnected(t)
})
