// MNIST digits from the shipped `mnist` package, split once into a fixed train and test set.
import { createRequire } from 'node:module'
import { Rng } from '../tensor/rng.js'
import { createClassificationDataset, type ClassificationDataset } from './dataset.js'
import { DataError, DataErrorCode } from './errors.js'

/** Pixels per digit (28 × 28, flattened). */
export const MNIST_FEATURES = 784
/** Held-out digits; the rest (8,000) are for training. */
export const MNIST_TEST_SIZE = 2000
/**
 * Seed of the split. It is part of the data's identity: changing it changes every
 * reported accuracy, so bump the suffix rather than editing it quietly.
 */
export const MNIST_SPLIT_SEED = 'tapestry/mnist-split/v1'

export interface MnistSplit {
  readonly train: ClassificationDataset
  readonly test: ClassificationDataset
}

interface MnistDigit { length: number, raw: number[] }

let cached: MnistSplit | undefined

/**
 * The 10,000 digits of the `mnist` package as 8,000 train / 2,000 test, identical on every
 * call and every machine: each class gives the same share to the test set (stratified,
 * largest remainder so the total is exactly 2,000), chosen by a fixed seeded permutation.
 * The package's own `set()` shuffles with Math.random, so it is not used.
 *
 * Parsing the JSON takes a few hundred ms, so the result is cached per process; treat the
 * returned arrays as read-only, they are shared.
 */
export function loadMnist (): MnistSplit {
  if (cached === undefined) cached = buildSplit(readDigits())
  return cached
}

function readDigits (): MnistDigit[] {
  let pkg: unknown
  try {
    pkg = createRequire(import.meta.url)('mnist')
  } catch (err) {
    throw new DataError(DataErrorCode.LoadFailed, `cannot load the mnist package: ${(err as Error).message}`)
  }
  const digits: MnistDigit[] = []
  for (let c = 0; c < 10; c++) {
    const d = (pkg as Record<number, Partial<MnistDigit> | undefined>)[c]
    if (d == null || !Array.isArray(d.raw) || d.raw.length % MNIST_FEATURES !== 0) {
      throw new DataError(DataErrorCode.LoadFailed, `mnist package has no usable data for digit ${c}`)
    }
    digits.push({ length: d.raw.length / MNIST_FEATURES, raw: d.raw })
  }
  return digits
}

function buildSplit (digits: MnistDigit[]): MnistSplit {
  const total = digits.reduce((a, d) => a + d.length, 0)
  const testPerClass = largestRemainder(digits.map(d => d.length), MNIST_TEST_SIZE, total)
  const rng = new Rng(MNIST_SPLIT_SEED)
  // (class, row within class) pairs, packed as class * 2^16 + row
  const train: number[] = []
  const test: number[] = []
  for (let c = 0; c < digits.length; c++) {
    const order = rng.shuffle(Array.from({ length: digits[c].length }, (_, i) => i)) as number[]
    for (let k = 0; k < order.length; k++) (k < testPerClass[c] ? test : train).push(c * 65536 + order[k])
  }
  // interleave the classes so the first rows of a set are not all zeros
  rng.shuffle(train)
  rng.shuffle(test)
  return { train: materialise(digits, train), test: materialise(digits, test) }
}

function materialise (digits: MnistDigit[], rows: number[]): ClassificationDataset {
  const x = new Float32Array(rows.length * MNIST_FEATURES)
  const y = new Int32Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const c = Math.floor(rows[i] / 65536)
    const r = rows[i] % 65536
    const raw = digits[c].raw
    const base = r * MNIST_FEATURES
    const out = i * MNIST_FEATURES
    for (let j = 0; j < MNIST_FEATURES; j++) x[out + j] = raw[base + j]
    y[i] = c
  }
  return createClassificationDataset(x, y, [MNIST_FEATURES], 10)
}

/** Integer shares of `target` proportional to `sizes` (which sum to `total`), summing exactly to `target`. */
export function largestRemainder (sizes: readonly number[], target: number, total: number): number[] {
  const exact = sizes.map(s => (s * target) / total)
  const out = exact.map(Math.floor)
  let left = target - out.reduce((a, b) => a + b, 0)
  // ties go to the lower index so the result is a pure function of the sizes
  const byRemainder = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i)
  for (let k = 0; left > 0; k++, left--) out[byRemainder[k % byRemainder.length].i]++
  return out
}
