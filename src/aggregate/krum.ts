// Multi-Krum: keep the m updates closest to their neighbours, average those; tolerates f Byzantine senders.
import { AggregateError, AggregateErrorCode } from './errors.js'
import { canonicalInputs, type UpdateId, type UpdateInput } from './input.js'
import { ruleNumber, ruleSyntax, type FoldRuleEntry } from './rule-entry.js'

export interface MultiKrumOptions {
  /** how many of the updates may be arbitrary (Byzantine); needs n > 2f + 2 */
  readonly f: number
  /**
   * how many of the best-scored updates to average (m = 1 is plain Krum)
   * @default n − f
   */
  readonly m?: number
}

export interface KrumSelection {
  /** indices (into the canonical order) of the chosen updates, ascending */
  readonly selected: number[]
  /** Krum score of every update: sum of squared distances to its n − f − 2 nearest others */
  readonly scores: Float64Array
}

export interface MultiKrumResult {
  readonly aggregate: Float32Array
  /** ids of the averaged updates, in canonical order */
  readonly selected: UpdateId[]
  readonly scores: Float64Array
}

/**
 * Multi-Krum (Blanchard et al. 2017; El Mhamdi et al. 2018): score every update by how
 * close it lies to its n − f − 2 nearest neighbours, keep the m best, and average them
 * unweighted (a claimed sample count must not buy a place in the average).
 *
 * The selection needs every pairwise distance, O(n²·P), so unlike the coordinate-wise
 * rules it cannot be checked on sampled coordinates alone.
 */
export function multiKrum (inputs: readonly UpdateInput[], options: MultiKrumOptions): MultiKrumResult {
  const sorted = canonicalInputs(inputs)
  const sel = krumSelect(sorted, options)
  return { aggregate: foldSelectedMean(sorted, sel.selected), selected: sel.selected.map(i => sorted[i].id), scores: sel.scores }
}

/** Throws unless f and m are usable for n updates; returns m with its default applied. */
export function krumParameters (n: number, options: MultiKrumOptions): { f: number, m: number } {
  const { f } = options
  if (!Number.isInteger(f) || f < 0) throw new AggregateError(AggregateErrorCode.BadParameter, `Krum f must be a non-negative integer, got ${f}`)
  if (n <= 2 * f + 2) throw new AggregateError(AggregateErrorCode.KrumTooManyFaulty, `Multi-Krum with f = ${f} needs more than ${2 * f + 2} updates, got ${n}`)
  const m = options.m ?? n - f
  if (!Number.isInteger(m) || m < 1 || m > n - f) throw new AggregateError(AggregateErrorCode.BadParameter, `Multi-Krum m must be an integer in [1, ${n - f}], got ${m}`)
  return { f, m }
}

/** The Krum scores and the chosen updates, for updates already in canonical order. */
export function krumSelect (sorted: readonly UpdateInput[], options: MultiKrumOptions): KrumSelection {
  const n = sorted.length
  const { f, m } = krumParameters(n, options)
  const dist = new Float64Array(n * n)
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const d = squaredDistance(sorted[a].update, sorted[b].update)
      dist[a * n + b] = d
      dist[b * n + a] = d
    }
  }
  const neighbours = n - f - 2
  const scores = new Float64Array(n)
  const row = new Float64Array(n - 1)
  for (let a = 0; a < n; a++) {
    let k = 0
    for (let b = 0; b < n; b++) if (b !== a) row[k++] = dist[a * n + b]
    row.sort()
    let s = 0
    for (let i = 0; i < neighbours; i++) s += row[i]
    scores[a] = s
  }
  // best scores first; equal scores go to the smaller id so the choice is canonical
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b)
  const selected = order.slice(0, m).sort((a, b) => a - b)
  return { selected, scores }
}

/** Unweighted mean of the chosen updates, summed in canonical order in float64. */
export function foldSelectedMean (sorted: readonly UpdateInput[], selected: readonly number[]): Float32Array {
  const length = sorted[0].update.length
  const acc = new Float64Array(length)
  for (const i of selected) {
    const u = sorted[i].update
    for (let j = 0; j < length; j++) acc[j] += u[j]
  }
  const out = new Float32Array(length)
  for (let j = 0; j < length; j++) out[j] = acc[j] / selected.length
  return out
}

/** Coordinate j of `foldSelectedMean`, alone. */
export function selectedMeanAt (sorted: readonly UpdateInput[], selected: readonly number[], j: number): number {
  let acc = 0
  for (const i of selected) acc += sorted[i].update[j]
  return Math.fround(acc / selected.length)
}

function squaredDistance (a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let j = 0; j < a.length; j++) {
    const d = a[j] - b[j]
    s += d * d
  }
  return s
}

/** Fewest updates Multi-Krum runs on: n > 2f + 2, and n − f ≥ m when m is given. */
export function krumMinInputs (options: MultiKrumOptions): number {
  return Math.max(2 * options.f + 3, options.m === undefined ? 0 : options.m + options.f)
}

/** `krum:<f>` or `krum:<f>:<m>`: Multi-Krum; needs n ≥ max(2f + 3, m + f). */
export const krumRule: FoldRuleEntry<'multi-krum'> = {
  kind: 'multi-krum',
  names: ['krum', 'multi-krum'],
  parse: (params, text) => {
    if (params.length !== 1 && params.length !== 2) throw ruleSyntax(text, 'expected krum:<f> or krum:<f>:<m>')
    const f = ruleNumber(params[0])
    return krumRule.validate(params.length === 1 ? { kind: 'multi-krum', f } : { kind: 'multi-krum', f, m: ruleNumber(params[1]) })
  },
  format: rule => rule.m === undefined ? `krum:${rule.f}` : `krum:${rule.f}:${rule.m}`,
  validate: rule => {
    if (!Number.isInteger(rule.f) || rule.f < 0) throw new AggregateError(AggregateErrorCode.BadParameter, `Krum f must be a non-negative integer, got ${rule.f}`)
    if (rule.m !== undefined && !(Number.isInteger(rule.m) && rule.m >= 1)) throw new AggregateError(AggregateErrorCode.BadParameter, `Krum m must be a positive integer, got ${rule.m}`)
    return rule
  },
  minInputs: rule => krumMinInputs(rule),
  prepare: (sorted, rule) => {
    const { selected } = krumSelect(sorted, rule)
    return { selectedIndices: selected, at: j => selectedMeanAt(sorted, selected, j), full: () => foldSelectedMean(sorted, selected) }
  }
}
