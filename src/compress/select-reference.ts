// The obviously-correct top-k: sort indices by (|v| descending, index ascending) and keep the
// first k per range. Slow (a full sort); exists so the radix select can be tested against it.
import type { TopkSpec } from './spec.js'
import { topkCount, topkRanges } from './select.js'

export function referenceTopk (x: Float32Array, topk: TopkSpec): Uint32Array {
  const picked: number[] = []
  for (const [start, end] of topkRanges(topk, x.length)) {
    const idx: number[] = []
    for (let i = start; i < end; i++) idx.push(i)
    idx.sort((a, b) => (Math.abs(x[b]) - Math.abs(x[a])) || (a - b))
    const kept = idx.slice(0, topkCount(topk.fraction, end - start))
    kept.sort((a, b) => a - b)
    picked.push(...kept)
  }
  return Uint32Array.from(picked)
}
