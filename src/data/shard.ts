// Splits a dataset into one shard per node (rows: IID or Dirichlet label skew; documents: IID or whole groups), reproducibly from a seed.
import { Rng } from '../tensor/rng.js'
import type { ClassificationDataset, Dataset } from './dataset.js'
import { DataErrorCode, ShardError } from './errors.js'
import { formatPartition, validatePartition, type Partition } from './partition.js'
import { documentTokens, groupMembers, type TokenDataset } from './tokens.js'

export interface ShardOptions {
  /**
   * Smallest shard allowed. Dirichlet draws with small alpha leave some nodes with no
   * examples at all; those are topped up from the largest shard (taking its most
   * common label, so the skew survives) instead of failing or redrawing. A simulator
   * may want at least one batch per node here.
   * @default 1
   */
  minPerShard?: number
}

/**
 * Unit indices of `dataset` for each of `nodes` nodes: rows of a classification set,
 * whole documents of a token set. Every unit lands in exactly one shard, no shard has
 * fewer than `minPerShard` units, and the same (dataset, nodes, partition, seed) always
 * gives the same shards. Each shard's indices are ascending; the batch sampler does the
 * shuffling. A token set has no labels to skew: it takes `iid`, or a `group` partition
 * (`speaker`, `era`) naming one of its groupings; a classification set takes no `group`.
 */
export function shard (dataset: Dataset, nodes: number, partition: Partition, seed: number | string, options: ShardOptions = {}): Int32Array[] {
  const minPerShard = options.minPerShard ?? 1
  if (!Number.isInteger(nodes) || nodes < 1) {
    throw new ShardError(DataErrorCode.BadNodeCount, nodes, dataset.n, `node count must be a positive integer, got ${nodes}`)
  }
  if (!Number.isInteger(minPerShard) || minPerShard < 1) {
    throw new ShardError(DataErrorCode.BadShardOption, nodes, dataset.n, `minPerShard must be a positive integer, got ${minPerShard}`)
  }
  if (dataset.n < nodes * minPerShard) {
    throw new ShardError(DataErrorCode.TooFewExamples, nodes, dataset.n, `${dataset.n} examples cannot fill ${nodes} shards of at least ${minPerShard}`)
  }
  validatePartition(partition)
  const rng = new Rng(seed).fork('shard')
  let shards: number[][]
  switch (dataset.kind) {
    case 'classification':
      if (partition.kind === 'group') {
        throw new ShardError(DataErrorCode.PartitionKind, nodes, dataset.n, `a classification dataset cannot be split by "${formatPartition(partition)}": it has no document groups; use iid or dirichlet:<alpha>`)
      }
      shards = partition.kind === 'iid'
        ? iidShards(dataset.n, nodes, rng)
        : dirichletShards(dataset, nodes, partition.alpha, minPerShard, rng)
      break
    case 'tokens':
      if (partition.kind === 'dirichlet') {
        throw new ShardError(DataErrorCode.PartitionKind, nodes, dataset.n, `a token dataset cannot be split by "${formatPartition(partition)}": it has no labels; use iid or a grouping (speaker, era)`)
      }
      shards = partition.kind === 'iid'
        ? documentShards(dataset, nodes, minPerShard, rng)
        : groupShards(dataset, nodes, partition.by, minPerShard, rng)
      break
  }
  return shards.map(s => Int32Array.from(s).sort())
}

/**
 * How much a shard counts in a weighted fold (FedAvg weights by data held): its examples
 * for a classification set, its tokens for a token set.
 */
export function shardWeight (dataset: Dataset, indices: ArrayLike<number>): number {
  switch (dataset.kind) {
    case 'classification': return indices.length
    case 'tokens': return documentTokens(dataset, indices)
  }
}

/**
 * Whole documents in a seeded random order: the first nodes × minPerShard are dealt round
 * robin, every later one goes to the shard holding the fewest tokens so far, so shards are
 * balanced by tokens rather than by document count (documents differ a lot in length).
 */
function documentShards (ds: TokenDataset, nodes: number, minPerShard: number, rng: Rng): number[][] {
  const docs = rng.shuffle(Array.from({ length: ds.n }, (_, i) => i)) as number[]
  const out: number[][] = Array.from({ length: nodes }, () => [])
  const held = new Float64Array(nodes)
  docs.forEach((d, i) => {
    let s = i % nodes
    if (i >= nodes * minPerShard) {
      s = 0
      for (let j = 1; j < nodes; j++) if (held[j] < held[s]) s = j
    }
    out[s].push(d)
    held[s] += ds.docStarts[d + 1] - ds.docStarts[d]
  })
  return out
}

/**
 * Whole groups of the grouping `by`, balanced by tokens with the greedy longest-first rule:
 * groups in decreasing token count (ties in a seeded random order) each go to the shard
 * holding the fewest tokens so far (ties: the one with fewer groups, then the lower index),
 * so every shard gets at least one group and the largest shard exceeds the mean by at most
 * one group. Which node gets which shard is then a seeded permutation. Groups with no
 * document are left out of the count.
 */
function groupShards (ds: TokenDataset, nodes: number, by: string, minPerShard: number, rng: Rng): number[][] {
  const grouping = Object.hasOwn(ds.groups ?? {}, by) ? ds.groups?.[by] : undefined
  if (grouping === undefined) {
    const has = Object.keys(ds.groups ?? {})
    throw new ShardError(DataErrorCode.NoGrouping, nodes, ds.n,
      `this token dataset has no "${by}" grouping of its documents; ${has.length === 0 ? 'it has no groupings at all, use iid' : `it has ${has.join(', ')}`}`)
  }
  const members = groupMembers(grouping)
  const present = members.map((docs, g) => ({ g, docs, tokens: documentTokens(ds, docs) })).filter(x => x.docs.length > 0)
  if (present.length < nodes) {
    throw new ShardError(DataErrorCode.TooFewGroups, nodes, ds.n,
      `${present.length} ${by} groups cannot give ${nodes} nodes a shard each: whole groups are dealt out, so use at most ${present.length} nodes`)
  }
  rng.shuffle(present)
  // Array.prototype.sort is stable: equal token counts keep the seeded order
  present.sort((a, b) => b.tokens - a.tokens)
  const out: number[][] = Array.from({ length: nodes }, () => [])
  const held = new Float64Array(nodes)
  const count = new Int32Array(nodes)
  const names: string[][] = Array.from({ length: nodes }, () => [])
  for (const { g, docs, tokens } of present) {
    let s = 0
    for (let j = 1; j < nodes; j++) if (held[j] < held[s] || (held[j] === held[s] && count[j] < count[s])) s = j
    for (const d of docs) out[s].push(d)
    held[s] += tokens
    count[s]++
    names[s].push(grouping.names[g])
  }
  out.forEach((docs, s) => {
    if (docs.length < minPerShard) {
      throw new ShardError(DataErrorCode.TooFewExamples, nodes, ds.n,
        `the shard of ${by} ${names[s].join(', ')} holds ${docs.length} documents, fewer than minPerShard ${minPerShard}; whole groups cannot be split`)
    }
  })
  return rng.shuffle(out) as number[][]
}

function iidShards (n: number, nodes: number, rng: Rng): number[][] {
  const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i)) as number[]
  const base = Math.floor(n / nodes)
  const extra = n % nodes
  const out: number[][] = []
  let at = 0
  for (let s = 0; s < nodes; s++) {
    const size = base + (s < extra ? 1 : 0)
    out.push(perm.slice(at, at + size))
    at += size
  }
  return out
}

function dirichletShards (ds: ClassificationDataset, nodes: number, alpha: number, minPerShard: number, rng: Rng): number[][] {
  const classes = ds.numClasses
  const byClass: number[][] = Array.from({ length: classes }, () => [])
  for (let i = 0; i < ds.n; i++) byClass[ds.y[i]].push(i)
  // held[s][c]: the examples of class c that shard s holds; kept per class so rebalancing can move a chosen label
  const held: number[][][] = Array.from({ length: nodes }, () => Array.from({ length: classes }, () => []))
  for (let c = 0; c < classes; c++) {
    const rows = rng.shuffle(byClass[c]) as number[]
    const p = dirichlet(rng, alpha, nodes)
    // cut points from rounded cumulative shares, so the counts sum to the class size exactly
    let cum = 0
    let from = 0
    for (let s = 0; s < nodes; s++) {
      cum += p[s]
      const to = s === nodes - 1 ? rows.length : Math.min(rows.length, Math.round(cum * rows.length))
      for (let k = from; k < to; k++) held[s][c].push(rows[k])
      from = Math.max(from, to)
    }
  }
  rebalance(held, minPerShard)
  return held.map(perClass => perClass.flat())
}

/** Moves examples from the largest shard to any shard below the minimum, deterministically. */
function rebalance (held: number[][][], minPerShard: number): void {
  const sizes = held.map(perClass => perClass.reduce((a, l) => a + l.length, 0))
  for (;;) {
    let needy = -1
    for (let s = 0; s < sizes.length; s++) if (sizes[s] < minPerShard) { needy = s; break }
    if (needy < 0) return
    let donor = 0
    for (let s = 1; s < sizes.length; s++) if (sizes[s] > sizes[donor]) donor = s
    let label = 0
    const d = held[donor]
    for (let c = 1; c < d.length; c++) if (d[c].length > d[label].length) label = c
    held[needy][label].push(d[label].pop() as number)
    sizes[donor]--
    sizes[needy]++
  }
}

/**
 * A draw from the symmetric Dirichlet(alpha) over k categories. Gamma draws are taken in
 * log space: with alpha ≪ 1 a Gamma(alpha) variate underflows to 0 in linear space and
 * every share would become NaN.
 */
export function dirichlet (rng: Rng, alpha: number, k: number): Float64Array {
  const logs = new Float64Array(k)
  let max = -Infinity
  for (let i = 0; i < k; i++) {
    logs[i] = logGammaVariate(rng, alpha)
    if (logs[i] > max) max = logs[i]
  }
  let sum = 0
  for (let i = 0; i < k; i++) {
    logs[i] = Math.exp(logs[i] - max)
    sum += logs[i]
  }
  for (let i = 0; i < k; i++) logs[i] /= sum
  return logs
}

/** log of a Gamma(shape, 1) variate; shape < 1 uses G(a) = G(a + 1) · U^(1/a). */
function logGammaVariate (rng: Rng, shape: number): number {
  if (shape >= 1) return Math.log(rng.gamma(shape))
  let u = 0
  while (u === 0) u = rng.next()
  return Math.log(rng.gamma(shape + 1)) + Math.log(u) / shape
}
