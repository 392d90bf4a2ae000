// Small synthetic datasets for data/ tests: row i has features [i, label] so rows are traceable.
import { createClassificationDataset, type ClassificationDataset } from '../../src/data/index.js'

export function tinyDataset (n: number, numClasses: number, labelOf: (i: number) => number = i => i % numClasses): ClassificationDataset {
  const x = new Float32Array(n * 2)
  const y = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    y[i] = labelOf(i)
    x[2 * i] = i
    x[2 * i + 1] = y[i]
  }
  return createClassificationDataset(x, y, [2], numClasses)
}
