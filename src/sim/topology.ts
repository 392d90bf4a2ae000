// Simulated network graphs: parse a topology spec, build it for n nodes, and answer the one-way
// path (latency, bottleneck bandwidth, loss, hops) between any two nodes.

import type { Rng } from '../tensor/rng.js'
import { SimError, SimErrorCode, EdgeListError, clip } from './errors.js'

/** One link's character. Every number is checked when a topology is built. */
export interface LinkSpec {
  /** one-way propagation delay, ms, ≥ 0 */
  latencyMs: number
  /** capacity, MB/s (10^6 bytes per second), > 0 */
  bandwidthMBps: number
  /** per-packet loss probability in [0, 1) */
  loss: number
}

/** An undirected edge; `link` overrides fields of the base link; `line` cites the edge-list file. */
export interface EdgeSpec {
  a: number
  b: number
  link?: Partial<LinkSpec>
  line?: number
}

export type TopologySpec =
  | { kind: 'full' }
  | { kind: 'ring' }
  | { kind: 'star', hub: number }
  /** uniform random d-regular graph (pairing model), repaired to be connected */
  | { kind: 'regular', degree: number }
  /** Watts–Strogatz: ring lattice of even `degree`, each edge rewired with probability `rewire`; redrawn until connected */
  | { kind: 'smallworld', degree: number, rewire: number }
  /** node i is in region i mod `regions`; full mesh, pairs across regions have latency `interLatencyMs` */
  | { kind: 'regions', regions: number, interLatencyMs: number }
  | { kind: 'edges', edges: EdgeSpec[] }

/** A one-way path. `a` to itself is latency 0, bandwidth Infinity, loss 0, hops 0. */
export interface PathInfo {
  latencyMs: number
  bandwidthMBps: number
  loss: number
  hops: number
}

export interface Topology {
  readonly n: number
  readonly spec: TopologySpec
  /** the base link the topology was built with (edges may override it) */
  readonly link: LinkSpec
  /** number of undirected links, counted even where they are implicit */
  readonly linkCount: number
  /** one-way path between two nodes: latency = sum along the shortest-latency path, bandwidth = bottleneck, loss = 1−Π(1−p) */
  path: (a: number, b: number) => PathInfo
  degree: (a: number) => number
  /** direct neighbours; a view into the graph for sparse kinds (do not write), a fresh O(n) array for full/regions */
  neighbors: (a: number) => Int32Array
}

export interface TopologyOptions {
  /**
   * shortest-path trees kept (LRU) for sparse graphs; each costs 28 bytes per node, so the
   * count is also capped at 256 MB in all
   * @default 64
   */
  cacheTrees?: number
}

/** largest simulated network: typed arrays stay int32-indexable and memory stays sane */
export const MAX_NODES = 10_000_000
const TREE_BYTES_PER_NODE = 28
const TREE_CACHE_BYTES = 256e6
const KINDS = ['full', 'ring', 'star', 'regular', 'smallworld', 'regions', 'edges']

// ---------------------------------------------------------------- parsing

/**
 * Parse `full | ring | star[:HUB] | regular:D | smallworld:D:P | regions:R:MS | edges:PATH`.
 * For `edges:PATH` the caller (the CLI: src/sim does no I/O) reads PATH, runs parseEdgeList
 * and passes the edges in. Checks that need n wait for buildTopology.
 */
export function parseTopology (s: string, edgesFromFile?: EdgeSpec[]): TopologySpec {
  const text = s.trim()
  const fail = (reason: string): SimError =>
    new SimError(SimErrorCode.TOPOLOGY, `bad topology "${clip(text)}": ${reason}`, { spec: clip(text), reason })
  const parts = text.split(':')
  const arity = (min: number, max: number, usage: string): void => {
    if (parts.length - 1 < min || parts.length - 1 > max) throw fail(`expected ${usage}`)
  }
  const int = (i: number, what: string): number => {
    if (!/^\d{1,9}$/.test(parts[i])) throw fail(`${what} must be a non-negative integer, got "${clip(parts[i])}"`)
    return Number(parts[i])
  }
  const num = (i: number, what: string): number => {
    const x = parseNumber(parts[i])
    if (x === undefined) throw fail(`${what} must be a number, got "${clip(parts[i])}"`)
    return x
  }
  let spec: TopologySpec
  switch (parts[0]) {
    case 'full': arity(0, 0, '"full"'); spec = { kind: 'full' }; break
    case 'ring': arity(0, 0, '"ring"'); spec = { kind: 'ring' }; break
    case 'star': arity(0, 1, '"star" or "star:HUB"'); spec = { kind: 'star', hub: parts.length > 1 ? int(1, 'HUB') : 0 }; break
    case 'regular': arity(1, 1, '"regular:D"'); spec = { kind: 'regular', degree: int(1, 'D') }; break
    case 'smallworld': arity(2, 2, '"smallworld:D:P"'); spec = { kind: 'smallworld', degree: int(1, 'D'), rewire: num(2, 'P') }; break
    case 'regions': arity(2, 2, '"regions:R:MS"'); spec = { kind: 'regions', regions: int(1, 'R'), interLatencyMs: num(2, 'MS') }; break
    case 'edges':
      if (edgesFromFile === undefined) throw fail('an edge list must be read by the caller and passed in')
      spec = { kind: 'edges', edges: edgesFromFile }
      break
    default: throw fail(`unknown kind "${clip(parts[0])}" (known: ${KINDS.join(', ')})`)
  }
  validateTopology(spec)
  return spec
}

/** The file an `edges:PATH` spec names, for the CLI to read; undefined for other kinds. */
export function edgeListPath (s: string): string | undefined {
  const text = s.trim()
  return text.startsWith('edges:') && text.length > 6 ? text.slice(6) : undefined
}

/** Canonical spec string (for reports); an edge list is summarised by its size. */
export function formatTopology (spec: TopologySpec): string {
  switch (spec.kind) {
    case 'star': return `star:${spec.hub}`
    case 'regular': return `regular:${spec.degree}`
    case 'smallworld': return `smallworld:${spec.degree}:${spec.rewire}`
    case 'regions': return `regions:${spec.regions}:${spec.interLatencyMs}`
    case 'edges': return `edges(${spec.edges.length})`
    default: return spec.kind
  }
}

/**
 * Parse an edge list: one `a b [latencyMs [bandwidthMBps [loss]]]` per line, whitespace or
 * comma separated, `#` starts a comment. Missing link fields fall back to the base link.
 * Self loops and repeated pairs (either direction) are refused here, with their line.
 */
export function parseEdgeList (text: string): EdgeSpec[] {
  const edges: EdgeSpec[] = []
  const seen = new Map<string, number>()
  const lines = text.split(/\r\n|\n|\r/)
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1
    const hash = lines[i].indexOf('#')
    const body = (hash >= 0 ? lines[i].slice(0, hash) : lines[i]).trim()
    if (body === '') continue
    const f = body.split(/[\s,]+/)
    if (f.length < 2 || f.length > 5) throw new EdgeListError(line, 'field-count', `expected "a b [latencyMs [bandwidthMBps [loss]]]", got ${f.length} field(s)`)
    const node = (tok: string): number => {
      if (!/^\d{1,9}$/.test(tok)) throw new EdgeListError(line, 'bad-node', `node "${clip(tok)}" is not a non-negative integer`)
      return Number(tok)
    }
    const a = node(f[0])
    const b = node(f[1])
    if (a === b) throw new EdgeListError(line, 'self-loop', `self loop on node ${a}`, { a, b })
    const key = a < b ? `${a} ${b}` : `${b} ${a}`
    const first = seen.get(key)
    if (first !== undefined) throw new EdgeListError(line, 'duplicate', `duplicate edge ${a}-${b} (first on line ${first})`, { a, b, first })
    seen.set(key, line)
    const link: Partial<LinkSpec> = {}
    const names = ['latencyMs', 'bandwidthMBps', 'loss'] as const
    for (let k = 2; k < f.length; k++) {
      const x = parseNumber(f[k])
      if (x === undefined) throw new EdgeListError(line, 'not-a-number', `${names[k - 2]} "${clip(f[k])}" is not a number`, {}, names[k - 2])
      link[names[k - 2]] = x
    }
    const bad = linkProblem(mergeLink(PLACEHOLDER_LINK, link))
    if (bad !== undefined) throw new EdgeListError(line, 'bad-link', bad.reason, { a, b }, bad.field)
    edges.push(f.length > 2 ? { a, b, link, line } : { a, b, line })
  }
  return edges
}

function parseNumber (tok: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(tok)) return undefined
  const x = Number(tok)
  return Number.isFinite(x) ? x : undefined
}

// ---------------------------------------------------------------- validation

/** stands in for the base link when an override is checked before the base is known */
const PLACEHOLDER_LINK: LinkSpec = { latencyMs: 0, bandwidthMBps: 1, loss: 0 }

/** `over` on top of `base`; a field left undefined keeps the base value (a spread would copy the undefined) */
function mergeLink (base: LinkSpec, over: Partial<LinkSpec>): LinkSpec {
  return { latencyMs: over.latencyMs ?? base.latencyMs, bandwidthMBps: over.bandwidthMBps ?? base.bandwidthMBps, loss: over.loss ?? base.loss }
}

/** why `link` is unusable, or undefined when it is fine */
function linkProblem (link: LinkSpec): { field: keyof LinkSpec, reason: string } | undefined {
  const { latencyMs, bandwidthMBps, loss } = link
  if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) return { field: 'latencyMs', reason: `latencyMs must be a finite number ≥ 0, got ${String(latencyMs)}` }
  if (typeof bandwidthMBps !== 'number' || !Number.isFinite(bandwidthMBps) || bandwidthMBps <= 0) return { field: 'bandwidthMBps', reason: `bandwidthMBps must be a finite number > 0, got ${String(bandwidthMBps)}` }
  if (typeof loss !== 'number' || !(loss >= 0 && loss < 1)) return { field: 'loss', reason: `loss must be in [0, 1), got ${String(loss)}` }
  return undefined
}

/** Refuse a spec that cannot build; with `n`, also the checks that depend on the node count. */
export function validateTopology (spec: TopologySpec, n?: number): void {
  const fail = (reason: string, code: SimErrorCode = SimErrorCode.TOPOLOGY, detail: Record<string, number> = {}): SimError =>
    new SimError(code, `topology ${spec?.kind ?? '?'}${n === undefined ? '' : ` over ${n} nodes`}: ${reason}`, { kind: String(spec?.kind), ...detail })
  const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= MAX_NODES)) {
    throw new SimError(SimErrorCode.CONFIG, `node count must be an integer in [1, ${MAX_NODES}], got ${String(n)}`)
  }
  if (spec === null || typeof spec !== 'object' || !KINDS.includes(spec.kind)) throw fail(`unknown kind (known: ${KINDS.join(', ')})`)
  switch (spec.kind) {
    case 'star':
      if (!isCount(spec.hub)) throw fail(`hub must be a node index, got ${String(spec.hub)}`)
      if (n !== undefined && spec.hub >= n) throw fail(`hub ${spec.hub} is not a node (n = ${n})`)
      break
    case 'regular': {
      const d = spec.degree
      if (!isCount(d)) throw fail(`degree must be a non-negative integer, got ${String(d)}`)
      if (n === undefined) break
      if (d >= n) throw fail(`degree ${d} must be < n`)
      if ((n * d) % 2 !== 0) throw fail(`n·degree must be even, got ${n}·${d}`)
      if ((d === 0 && n > 1) || (d === 1 && n > 2)) throw fail(`a ${d}-regular graph on ${n} nodes cannot be connected`, SimErrorCode.DISCONNECTED)
      break
    }
    case 'smallworld':
      if (!isCount(spec.degree) || spec.degree < 2 || spec.degree % 2 !== 0) throw fail(`degree must be an even integer ≥ 2, got ${String(spec.degree)}`)
      if (typeof spec.rewire !== 'number' || !(spec.rewire >= 0 && spec.rewire <= 1)) throw fail(`rewire must be in [0, 1], got ${String(spec.rewire)}`)
      if (n !== undefined && spec.degree >= n) throw fail(`degree ${spec.degree} must be < n`)
      break
    case 'regions':
      if (!isCount(spec.regions) || spec.regions < 1) throw fail(`regions must be an integer ≥ 1, got ${String(spec.regions)}`)
      if (typeof spec.interLatencyMs !== 'number' || !Number.isFinite(spec.interLatencyMs) || spec.interLatencyMs < 0) throw fail(`interLatencyMs must be a finite number ≥ 0, got ${String(spec.interLatencyMs)}`)
      if (n !== undefined && spec.regions > n) throw fail(`${spec.regions} regions exceed ${n} nodes`)
      break
    case 'edges': {
      if (!Array.isArray(spec.edges)) throw fail('edges must be an array')
      const seen = new Set<number>()
      spec.edges.forEach((e, i) => {
        const where = e?.line !== undefined ? `edge ${i} (line ${e.line})` : `edge ${i}`
        const detail = { edge: i, ...(e?.line !== undefined ? { line: e.line } : {}) }
        if (!isCount(e?.a) || !isCount(e?.b)) throw fail(`${where}: endpoints must be node indices`, SimErrorCode.TOPOLOGY, detail)
        if (e.a === e.b) throw fail(`${where}: self loop on node ${e.a}`, SimErrorCode.TOPOLOGY, detail)
        if (n !== undefined && Math.max(e.a, e.b) >= n) throw fail(`${where}: endpoint ${Math.max(e.a, e.b)} out of range`, SimErrorCode.TOPOLOGY, detail)
        const key = Math.min(e.a, e.b) * 2 ** 26 + Math.max(e.a, e.b) // exact: both < 2^26 would need n > MAX_NODES to collide
        if (seen.has(key)) throw fail(`${where}: duplicate edge ${e.a}-${e.b}`, SimErrorCode.TOPOLOGY, detail)
        seen.add(key)
        const bad = e.link === undefined ? undefined : linkProblem(mergeLink(PLACEHOLDER_LINK, e.link))
        if (bad !== undefined) throw fail(`${where}: ${bad.reason}`, SimErrorCode.TOPOLOGY, detail)
      })
      break
    }
  }
}

// ---------------------------------------------------------------- building

/**
 * Build `spec` over nodes 0..n-1. Everything is checked first (link numbers, parameters,
 * connectivity) so a bad setting fails before any simulated time runs. `full` and `regions`
 * stay implicit (O(1) memory per node); the rest become CSR arrays with lazy Dijkstra trees.
 */
export function buildTopology (spec: TopologySpec, n: number, link: LinkSpec, rng: Rng, opts: TopologyOptions = {}): Topology {
  validateTopology(spec, n)
  const bad = linkProblem(link ?? ({} as LinkSpec))
  if (bad !== undefined) throw new SimError(SimErrorCode.CONFIG, `base link: ${bad.reason}`, { field: bad.field })
  const base = { latencyMs: link.latencyMs, bandwidthMBps: link.bandwidthMBps, loss: link.loss }
  const cacheTrees = opts.cacheTrees ?? 64
  if (!(Number.isInteger(cacheTrees) && cacheTrees >= 1)) throw new SimError(SimErrorCode.CONFIG, `cacheTrees must be an integer ≥ 1, got ${String(cacheTrees)}`)
  const trees = Math.max(1, Math.min(cacheTrees, Math.floor(TREE_CACHE_BYTES / (TREE_BYTES_PER_NODE * n))))
  let edges: EdgeArrays
  switch (spec.kind) {
    case 'full': return new MeshTopology(spec, n, base, 1, base.latencyMs)
    case 'regions': return new MeshTopology(spec, n, base, spec.regions, spec.interLatencyMs)
    case 'ring': edges = ringEdges(n); break
    case 'star': edges = starEdges(n, spec.hub); break
    case 'regular': edges = randomRegular(n, spec.degree, rng); break
    case 'smallworld': edges = wattsStrogatz(n, spec.degree, spec.rewire, rng); break
    case 'edges':
      edges = new EdgeArrays()
      for (const e of spec.edges) edges.push(e.a, e.b, e.link === undefined ? undefined : mergeLink(base, e.link))
      break
  }
  const csr = toCsr(n, edges, base)
  const parts = componentLabels(n, csr.off, csr.adj, new Int32Array(n))
  if (parts > 1) {
    throw new SimError(SimErrorCode.DISCONNECTED, `topology ${formatTopology(spec)} over ${n} nodes is disconnected (${parts} components)`, { kind: spec.kind, components: parts })
  }
  return new SparseTopology(spec, n, base, csr, trees)
}

/** which region node `i` belongs to in a `regions` topology (round-robin, so any prefix spans regions) */
export function regionOf (node: number, regions: number): number {
  return node % regions
}

function checkNode (a: number, n: number): void {
  if (!(Number.isInteger(a) && a >= 0 && a < n)) throw new SimError(SimErrorCode.NODE_RANGE, `node ${String(a)} is not in [0, ${n})`, { node: Number(a), n })
}

const selfPath = (): PathInfo => ({ latencyMs: 0, bandwidthMBps: Infinity, loss: 0, hops: 0 })

/** Full mesh split into round-robin regions; a pair's link is the base link, with the inter-region latency across regions. */
class MeshTopology implements Topology {
  readonly linkCount: number
  constructor (readonly spec: TopologySpec, readonly n: number, readonly link: LinkSpec,
    private readonly regions: number, private readonly interLatencyMs: number) {
    this.linkCount = n * (n - 1) / 2
  }

  path (a: number, b: number): PathInfo {
    checkNode(a, this.n); checkNode(b, this.n)
    if (a === b) return selfPath()
    const latencyMs = a % this.regions === b % this.regions ? this.link.latencyMs : this.interLatencyMs
    return { latencyMs, bandwidthMBps: this.link.bandwidthMBps, loss: this.link.loss, hops: 1 }
  }

  degree (a: number): number { checkNode(a, this.n); return this.n - 1 }

  neighbors (a: number): Int32Array {
    checkNode(a, this.n)
    const out = new Int32Array(this.n - 1)
    for (let i = 0, k = 0; i < this.n; i++) if (i !== a) out[k++] = i
    return out
  }
}

// ---------------------------------------------------------------- generators

/** growable undirected edge list, with an optional per-edge link */
class EdgeArrays {
  readonly a: number[] = []
  readonly b: number[] = []
  links: Array<LinkSpec | undefined> | undefined

  get length (): number { return this.a.length }

  push (a: number, b: number, link?: LinkSpec): void {
    if (link !== undefined) this.links ??= new Array<LinkSpec | undefined>(this.a.length)
    this.links?.push(link)
    this.a.push(a)
    this.b.push(b)
  }
}

function ringEdges (n: number): EdgeArrays {
  const out = new EdgeArrays()
  if (n === 2) out.push(0, 1) // a 2-ring is one link, not a double edge
  else if (n > 2) for (let i = 0; i < n; i++) out.push(i, (i + 1) % n)
  return out
}

function starEdges (n: number, hub: number): EdgeArrays {
  const out = new EdgeArrays()
  for (let i = 0; i < n; i++) if (i !== hub) out.push(hub, i)
  return out
}

const PAIRING_RESTARTS = 100

/**
 * Random d-regular graph by the pairing model with rejection of bad pairs (Steger–Wormald):
 * draw two free half-edges at a time and keep the pair unless it makes a loop or a double
 * edge. Plain rejection of whole pairings would need ~e^((d²−1)/4) tries (≈ 7·10⁶ at d = 8);
 * this needs a restart only when the last few free half-edges cannot pair. The result is
 * asymptotically uniform, then made connected by degree-preserving switches (d = 2 is often
 * a union of cycles).
 */
function randomRegular (n: number, d: number, rng: Rng): EdgeArrays {
  const out = new EdgeArrays()
  if (d === 0) return out
  const nb = new Int32Array(n * d) // row u holds u's neighbours: the degree is fixed
  const deg = new Int32Array(n)
  const free = new Int32Array(n * d)
  const ok = (u: number, v: number): boolean => {
    if (u === v) return false
    for (let k = u * d, e = k + deg[u]; k < e; k++) if (nb[k] === v) return false
    return true
  }
  let paired = false
  for (let attempt = 0; attempt < PAIRING_RESTARTS && !paired; attempt++) {
    deg.fill(0)
    let r = n * d
    for (let p = 0; p < r; p++) free[p] = p
    let fails = 0
    paired = true
    while (r > 0) {
      let i = rng.int(r)
      let j = rng.int(r - 1)
      if (j >= i) j++
      if (!ok((free[i] / d) | 0, (free[j] / d) | 0)) {
        if (++fails < 100) continue
        // possibly stuck: search the (by now few) free half-edges for any valid pair
        i = -1
        for (let x = 0; x < r && i < 0; x++) {
          for (let y = x + 1; y < r; y++) if (ok((free[x] / d) | 0, (free[y] / d) | 0)) { i = x; j = y; break }
        }
        if (i < 0) { paired = false; break }
      }
      fails = 0
      const u = (free[i] / d) | 0
      const v = (free[j] / d) | 0
      nb[u * d + deg[u]++] = v
      nb[v * d + deg[v]++] = u
      const hi = Math.max(i, j)
      const lo = Math.min(i, j)
      free[hi] = free[--r]
      free[lo] = free[--r]
    }
  }
  if (!paired) throw new SimError(SimErrorCode.TOPOLOGY, `topology regular:${d} over ${n} nodes: no simple pairing found in ${PAIRING_RESTARTS} tries`, { kind: 'regular' })
  connectRegular(n, d, nb, rng)
  for (let u = 0; u < n; u++) for (let k = u * d; k < (u + 1) * d; k++) if (u < nb[k]) out.push(u, nb[k])
  return out
}

/**
 * Merge components by switches {a–b, c–e} → {a–c, b–e} with a and c in different components:
 * degrees stay d, no loop or double edge can appear, and the two components merge unless
 * both removed edges were bridges (impossible for even d, rare otherwise), so this ends fast.
 */
function connectRegular (n: number, d: number, nb: Int32Array, rng: Rng): void {
  const off = new Int32Array(n + 1)
  for (let i = 0; i <= n; i++) off[i] = i * d
  const label = new Int32Array(n)
  const swap = (u: number, from: number, to: number): void => {
    for (let k = u * d; k < (u + 1) * d; k++) if (nb[k] === from) { nb[k] = to; return }
  }
  for (let iter = 0; componentLabels(n, off, nb, label) > 1; iter++) {
    if (iter > n + 100) throw new SimError(SimErrorCode.DISCONNECTED, `topology regular:${d} over ${n} nodes: could not connect the graph`, { kind: 'regular' })
    const a = rng.int(n)
    let others = 0
    for (let i = 0; i < n; i++) if (label[i] !== label[a]) others++
    let pick = rng.int(others)
    let c = 0
    for (; c < n; c++) if (label[c] !== label[a] && pick-- === 0) break
    const b = nb[a * d + rng.int(d)]
    const e = nb[c * d + rng.int(d)]
    swap(a, b, c); swap(b, a, e); swap(c, e, a); swap(e, c, b)
  }
}

const WS_TRIES = 100

/**
 * Watts–Strogatz as networkx draws it: ring lattice with k/2 neighbours each side, then each
 * lattice edge (u, u+j) is moved to (u, w) with probability p, w uniform among non-neighbours.
 * Redrawn until connected, so the result follows the WS law conditioned on connectivity.
 */
function wattsStrogatz (n: number, k: number, p: number, rng: Rng): EdgeArrays {
  const key = (u: number, v: number): number => u < v ? u * n + v : v * n + u // < 10^14: exact
  for (let attempt = 0; attempt < WS_TRIES; attempt++) {
    const set = new Set<number>()
    const deg = new Int32Array(n).fill(k)
    for (let j = 1; j <= k / 2; j++) for (let u = 0; u < n; u++) set.add(key(u, (u + j) % n))
    if (p > 0) {
      for (let j = 1; j <= k / 2; j++) {
        for (let u = 0; u < n; u++) {
          if (rng.next() >= p || deg[u] >= n - 1) continue
          const v = (u + j) % n
          let w: number
          do w = rng.int(n); while (w === u || set.has(key(u, w)))
          set.delete(key(u, v))
          set.add(key(u, w))
          deg[v]--
          deg[w]++
        }
      }
    }
    const out = new EdgeArrays()
    for (const e of set) out.push(Math.floor(e / n), e % n)
    if (isConnected(n, out)) return out
  }
  throw new SimError(SimErrorCode.DISCONNECTED,
    `topology smallworld:${k}:${p} over ${n} nodes: no connected draw in ${WS_TRIES} tries (raise the degree or lower the rewiring)`, { kind: 'smallworld' })
}

/** union–find connectivity of an edge list, without building adjacency */
function isConnected (n: number, edges: EdgeArrays): boolean {
  const parent = new Int32Array(n)
  for (let i = 0; i < n; i++) parent[i] = i
  const find = (x: number): number => {
    while (parent[x] !== x) { parent[x] = parent[parent[x]]; x = parent[x] }
    return x
  }
  let parts = n
  for (let i = 0; i < edges.length; i++) {
    const ra = find(edges.a[i])
    const rb = find(edges.b[i])
    if (ra !== rb) { parent[ra] = rb; parts-- }
  }
  return parts === 1
}

// ---------------------------------------------------------------- sparse graphs

/** compressed sparse rows: node u's half-edges are off[u]..off[u+1], with their links' numbers */
interface Csr { off: Int32Array, adj: Int32Array, lat: Float64Array, bw: Float64Array, loss: Float64Array }

function toCsr (n: number, edges: EdgeArrays, base: LinkSpec): Csr {
  const m = edges.length
  const off = new Int32Array(n + 1)
  for (let i = 0; i < m; i++) { off[edges.a[i] + 1]++; off[edges.b[i] + 1]++ }
  for (let u = 0; u < n; u++) off[u + 1] += off[u]
  const fill = off.slice(0, n)
  const adj = new Int32Array(2 * m)
  const lat = new Float64Array(2 * m).fill(base.latencyMs)
  const bw = new Float64Array(2 * m).fill(base.bandwidthMBps)
  const loss = new Float64Array(2 * m).fill(base.loss)
  for (let i = 0; i < m; i++) {
    const a = edges.a[i]
    const b = edges.b[i]
    const ea = fill[a]++
    const eb = fill[b]++
    adj[ea] = b
    adj[eb] = a
    const link = edges.links?.[i]
    if (link !== undefined) {
      lat[ea] = lat[eb] = link.latencyMs
      bw[ea] = bw[eb] = link.bandwidthMBps
      loss[ea] = loss[eb] = link.loss
    }
  }
  return { off, adj, lat, bw, loss }
}

/** label each node with its component (BFS); returns the component count */
function componentLabels (n: number, off: Int32Array, adj: Int32Array, label: Int32Array): number {
  label.fill(-1)
  const queue = new Int32Array(n)
  let count = 0
  for (let s = 0; s < n; s++) {
    if (label[s] >= 0) continue
    let head = 0
    let tail = 0
    queue[tail++] = s
    label[s] = count
    while (head < tail) {
      const u = queue[head++]
      for (let e = off[u]; e < off[u + 1]; e++) {
        const v = adj[e]
        if (label[v] < 0) { label[v] = count; queue[tail++] = v }
      }
    }
    count++
  }
  return count
}

/**
 * labels of every node from one source; loss composes as l ⊕ e = l + e − l·e (= 1 − (1−l)(1−e)),
 * which keeps a one-hop path's loss exactly the link's
 */
interface Tree { dist: Float64Array, hops: Int32Array, bw: Float64Array, loss: Float64Array }

const SETTLED = -2

/**
 * A sparse graph with shortest-latency trees computed on demand and kept in an LRU. Ties in
 * latency go to fewer hops, then the wider bottleneck, then lower loss: that order is kept
 * when a path is extended by an edge, so Dijkstra stays exact and the chosen path (hence its
 * bandwidth and loss) does not depend on adjacency order.
 */
class SparseTopology implements Topology {
  readonly linkCount: number
  private readonly cache = new Map<number, Tree>()
  private readonly heap: Int32Array
  private readonly pos: Int32Array

  constructor (readonly spec: TopologySpec, readonly n: number, readonly link: LinkSpec,
    private readonly g: Csr, private readonly maxTrees: number) {
    this.linkCount = g.adj.length / 2
    this.heap = new Int32Array(n)
    this.pos = new Int32Array(n)
  }

  /** Uses a cached tree of either endpoint, else computes b's: callers pass the popular endpoint as b. */
  path (a: number, b: number): PathInfo {
    checkNode(a, this.n); checkNode(b, this.n)
    if (a === b) return selfPath()
    let t: Tree
    let at = a
    if (this.cache.has(b)) t = this.tree(b)
    else if (this.cache.has(a)) { t = this.tree(a); at = b } else t = this.tree(b)
    return { latencyMs: t.dist[at], bandwidthMBps: t.bw[at], loss: t.loss[at], hops: t.hops[at] }
  }

  degree (a: number): number {
    checkNode(a, this.n)
    return this.g.off[a + 1] - this.g.off[a]
  }

  neighbors (a: number): Int32Array {
    checkNode(a, this.n)
    return this.g.adj.subarray(this.g.off[a], this.g.off[a + 1])
  }

  /** the tree rooted at `src`, refreshed in the LRU; the evicted tree's arrays are reused */
  private tree (src: number): Tree {
    let t = this.cache.get(src)
    if (t !== undefined) {
      this.cache.delete(src)
      this.cache.set(src, t)
      return t
    }
    if (this.cache.size >= this.maxTrees) {
      const [oldest, old] = this.cache.entries().next().value as [number, Tree]
      this.cache.delete(oldest)
      t = old
    } else {
      t = { dist: new Float64Array(this.n), hops: new Int32Array(this.n), bw: new Float64Array(this.n), loss: new Float64Array(this.n) }
    }
    this.dijkstra(src, t)
    this.cache.set(src, t)
    return t
  }

  /** Dijkstra with an indexed binary heap (decrease-key), so each node sits in the heap once. */
  private dijkstra (src: number, t: Tree): void {
    const { off, adj, lat, bw: ebw, loss: eloss } = this.g
    const { dist, hops, bw, loss } = t
    const heap = this.heap
    const pos = this.pos
    dist.fill(Infinity); hops.fill(0); bw.fill(0); loss.fill(1); pos.fill(-1)
    dist[src] = 0; bw[src] = Infinity; loss[src] = 0
    const less = (x: number, y: number): boolean => {
      if (dist[x] !== dist[y]) return dist[x] < dist[y]
      if (hops[x] !== hops[y]) return hops[x] < hops[y]
      if (bw[x] !== bw[y]) return bw[x] > bw[y]
      if (loss[x] !== loss[y]) return loss[x] < loss[y]
      return x < y
    }
    const up = (i: number, x: number): void => {
      while (i > 0) {
        const p = (i - 1) >> 1
        const y = heap[p]
        if (!less(x, y)) break
        heap[i] = y; pos[y] = i; i = p
      }
      heap[i] = x; pos[x] = i
    }
    let size = 0
    up(size++, src)
    while (size > 0) {
      const u = heap[0]
      pos[u] = SETTLED
      const last = heap[--size]
      if (size > 0) {
        let i = 0
        for (;;) {
          let c = 2 * i + 1
          if (c >= size) break
          if (c + 1 < size && less(heap[c + 1], heap[c])) c++
          if (!less(heap[c], last)) break
          heap[i] = heap[c]; pos[heap[i]] = i; i = c
        }
        heap[i] = last; pos[last] = i
      }
      const du = dist[u]
      const hu = hops[u] + 1
      const bu = bw[u]
      const lu = loss[u]
      for (let e = off[u], end = off[u + 1]; e < end; e++) {
        const v = adj[e]
        const pv = pos[v]
        if (pv === SETTLED) continue
        const nd = du + lat[e]
        const nb = bu < ebw[e] ? bu : ebw[e]
        const nl = lu + eloss[e] - lu * eloss[e]
        if (nd < dist[v] || (nd === dist[v] && (hu < hops[v] || (hu === hops[v] && (nb > bw[v] || (nb === bw[v] && nl < loss[v])))))) {
          dist[v] = nd; hops[v] = hu; bw[v] = nb; loss[v] = nl
          up(pv === -1 ? size++ : pv, v)
        }
      }
    }
  }
}
