// Losses and evaluation metrics by name: what a model declares, and the graph pieces each one builds.
import type { Value } from './builder.js'
import { ShapeError } from './errors.js'
import { argMax, cast, equal, reduceSum, reshape, softmaxCrossEntropy } from './ops/index.js'

/**
 * A loss over a model's output and its int64 target. Every loss here is a mean over the
 * target's elements (examples for a classifier, predicted tokens for a language model), so
 * an evaluation can weight chunks by their target size and report one exact mean.
 */
export interface LossDef {
  /** rank of the model output it takes, batch axis included */
  readonly outputRank: number
  /** rank of the target it takes, batch axis included */
  readonly targetRank: number
  /** scalar mean loss */
  mean: (output: Value, target: Value) => Value
  /** scalar int64 count of target elements where the output's argmax equals the target */
  correct: (output: Value, target: Value) => Value
}

/** logits [B, C] against class ids [B] */
const softmaxCrossEntropyLoss: LossDef = {
  outputRank: 2,
  targetRank: 1,
  mean: (logits, y) => softmaxCrossEntropy(logits, y, 'mean').loss,
  correct: (logits, y) => countEqual(argMax(logits, 1, false), y)
}

/** logits [B, T, V] against next tokens [B, T]: every position is one classification over V */
const tokenCrossEntropyLoss: LossDef = {
  outputRank: 3,
  targetRank: 2,
  mean: (logits, y) => softmaxCrossEntropy(flatTokens(logits), reshape(y, [-1]), 'mean').loss,
  correct: (logits, y) => countEqual(argMax(flatTokens(logits), 1, false), reshape(y, [-1]))
}

export const LOSSES = {
  softmax_cross_entropy: softmaxCrossEntropyLoss,
  token_cross_entropy: tokenCrossEntropyLoss
} as const satisfies Readonly<Record<string, LossDef>>

export type LossName = keyof typeof LOSSES

/**
 * What an evaluation reports besides the mean loss. `accuracy`: share of target elements
 * predicted exactly (argmax). `bits_per_byte`: the mean loss in bits, which is bits per
 * byte when one token is one byte (a byte-level model); a tokenizer with several bytes per
 * token would divide by its bytes per token.
 */
export type MetricName = 'accuracy' | 'bits_per_byte'

/** Sums an evaluation accumulates over its chunks. */
export interface EvalSums {
  /** Σ mean loss × target elements */
  lossSum: number
  /** target elements scored */
  units: number
  /** Σ correct, when a metric asked for it */
  correct: number
}

/** Whether the eval graph must output the `correct` count for these metrics. */
export function needsCorrect (metrics: readonly MetricName[]): boolean {
  return metrics.some(m => metricNeedsCorrect(m))
}

function metricNeedsCorrect (m: MetricName): boolean {
  switch (m) {
    case 'accuracy': return true
    case 'bits_per_byte': return false
  }
}

/** A metric's value from the accumulated sums. */
export function metricValue (m: MetricName, s: EvalSums): number {
  switch (m) {
    case 'accuracy': return s.correct / s.units
    case 'bits_per_byte': return s.lossSum / s.units / Math.LN2
  }
}

function countEqual (pred: Value, y: Value): Value {
  return reduceSum(cast(equal(pred, y), 'int64'), undefined, false)
}

/** [B, T, V] → [B·T, V]; the vocabulary must be static for the reshape */
function flatTokens (logits: Value): Value {
  const v = logits.shape?.[2]
  if (typeof v !== 'number') throw new ShapeError('token cross-entropy needs logits [B, T, V] with a static vocabulary V')
  return reshape(logits, [-1, v])
}
