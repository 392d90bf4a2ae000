// Bigram language model: one [V, V] table of next-token logits per token, the smallest model of the token path.
import { SpecError } from '../errors.js'
import { gather } from '../ops/index.js'
import { IO } from '../spec.js'
import { createLayout, type ParamLayout } from '../../tensor/layout.js'
import type { Rng } from '../../tensor/rng.js'
import type { ModelDef } from './model.js'

export interface BigramSpec {
  kind: 'bigram'
  /** token ids are in [0, vocab); 256 for bytes */
  vocab: number
  /** tokens per training window (the target is the window shifted by one) */
  context: number
}

/** One tensor `table` [vocab, vocab]: row t holds the logits of the token after t. */
export function bigramLayout (spec: BigramSpec): ParamLayout {
  validateBigram(spec)
  return createLayout([{ name: 'table', shape: [spec.vocab, spec.vocab] }])
}

export function validateBigram (spec: BigramSpec): void {
  if (!Number.isInteger(spec.vocab) || spec.vocab < 2) throw new SpecError(`bigram vocab must be an integer ≥ 2, got ${spec.vocab}`)
  if (!Number.isInteger(spec.context) || spec.context < 1) throw new SpecError(`bigram context must be a positive integer, got ${spec.context}`)
}

/**
 * A bigram model is the floor a real language model has to beat on held-out bits per
 * byte, and it exercises the whole token path (int64 inputs, [B, T, V] logits, Gather's
 * scatter-add gradient) in milliseconds.
 */
export const bigram: ModelDef<BigramSpec> = {
  inputs: spec => [{ name: IO.tokens, dtype: 'int64', shape: ['B', spec.context] }],
  target: spec => ({ name: IO.y, dtype: 'int64', shape: ['B', spec.context] }),
  loss: 'token_cross_entropy',
  metrics: ['bits_per_byte', 'accuracy'],
  layout: bigramLayout,
  init: (spec: BigramSpec, rng: Rng) => {
    const flat = new Float32Array(bigramLayout(spec).total)
    for (let i = 0; i < flat.length; i++) flat[i] = 0.02 * rng.normal()
    return flat
  },
  forward: (_spec, p, inputs) => gather(p.table, inputs[IO.tokens], 0),
  validate: validateBigram
}
