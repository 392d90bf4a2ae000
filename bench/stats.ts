// Small statistics for benches that interleave repeated runs.

/** Median, min and max of a sample (NaN for an empty one). */
export function spread (xs: readonly number[]): { median: number, min: number, max: number } {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN }
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return { median: s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2, min: s[0], max: s[s.length - 1] }
}
