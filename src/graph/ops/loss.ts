// Loss ops: SoftmaxCrossEntropyLoss forward (standard ONNX) with its gradient written in standard ops.
import type { Value } from '../builder.js'
import { InvalidArgumentError } from '../errors.js'
import { shapeOf } from '../grad-utils.js'
import { apply, defineOp, need, requireRank, type OpDef } from '../opdef.js'
import { attr, isStatic, stringAttr, tensor } from '../types.js'
import { add, div, exp, mul, sub } from './elementwise.js'
import { cast, equal, int64Scalar, range, size } from './misc.js'
import { reduceSum } from './reduce.js'
import { reshape, unsqueeze } from './shape.js'
import { gather } from './gather.js'

export type LossReduction = 'mean' | 'sum' | 'none'

const SoftmaxCrossEntropyLoss = defineOp('SoftmaxCrossEntropyLoss', (inputs, attrs) => {
  const scores = need(inputs[0], 'scores')
  const labels = need(inputs[1], 'labels')
  const reduction = stringAttr(attrs, 'reduction', 'mean')
  return [
    { dtype: scores.dtype, shape: reduction === 'none' ? labels.shape : [] },
    { dtype: scores.dtype, shape: scores.shape }
  ]
}, c => {
  const [gLoss, gLogp] = c.grads
  const [scores, labels] = c.inputs as Value[]
  if ((c.inputs[2] ?? null) !== null || c.attrs.ignore_index !== undefined) {
    throw new InvalidArgumentError('SoftmaxCrossEntropyLoss gradient supports neither weights nor ignore_index')
  }
  // com.microsoft SoftmaxCrossEntropyLossGrad is not in this build: d/dscores = softmax − onehot
  const logp = c.outputs[1]
  const p = exp(logp)
  let d: Value | null = null
  if (gLoss !== null) {
    const reduction = stringAttr(c.attrs, 'reduction', 'mean')
    let scale: Value = gLoss
    if (reduction === 'mean') {
      scale = isStatic(labels.shape)
        ? mul(gLoss, 1 / labels.shape.reduce((a, b) => a * b, 1))
        : div(gLoss, cast(size(labels), gLoss.dtype))
    } else if (reduction === 'none') {
      scale = unsqueeze(gLoss, [1])
    }
    d = mul(sub(p, oneHot(labels, scores)), scale)
  }
  if (gLogp !== null) {
    // log_prob = LogSoftmax(scores) along the class axis
    const t = sub(gLogp, mul(p, reduceSum(gLogp, [1], true)))
    d = d === null ? t : add(d, t)
  }
  return [d, null, null]
})

/** onehot(labels) laid out like scores [N, C, d1, ...], in the scores' element type. */
function oneHot (labels: Value, scores: Value): Value {
  const rank = requireRank(scores, 'cross-entropy gradient')
  const c = scores.shape![1]
  const trailing = new Array<number>(rank - 2).fill(1)
  let classes: Value
  if (typeof c === 'number') {
    classes = scores.graph.constant(tensor(labels.dtype, [c, ...trailing], Array.from({ length: c }, (_, i) => i)))
  } else {
    const n = gather(shapeOf(scores), int64Scalar(scores, 1), 0)
    classes = cast(range(int64Scalar(scores, 0), n, int64Scalar(scores, 1)), labels.dtype)
    if (rank > 2) classes = reshape(classes, [-1, ...trailing])
  }
  return cast(equal(unsqueeze(labels, [1]), classes), scores.dtype)
}

export const lossOps: readonly OpDef[] = [SoftmaxCrossEntropyLoss]

// ---- builder functions ------------------------------------------------------------------

/**
 * Softmax cross-entropy of scores [N, C, ...] against int64 labels [N, ...].
 * Returns the loss (scalar unless reduction 'none') and the log-probabilities.
 */
export function softmaxCrossEntropy (scores: Value, labels: Value, reduction: LossReduction = 'mean'): { loss: Value, logProb: Value } {
  if (labels.dtype !== 'int64' && labels.dtype !== 'int32') throw new InvalidArgumentError('labels must be int64 or int32')
  const [loss, logProb] = apply(SoftmaxCrossEntropyLoss, [scores, labels], { reduction: attr.string(reduction) })
  return { loss, logProb }
}
