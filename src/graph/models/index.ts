// Built-in models by ModelSpec kind: a new architecture is one more entry in this table.
import { SpecError } from '../errors.js'
import { LOSSES } from '../losses.js'
import type { ModelSpec, TensorSpec } from '../spec.js'
import type { ModelDef } from './model.js'
import { bigram } from './bigram.js'
import { mlp } from './mlp.js'
import { gpt } from './gpt.js'
import { onnxModelDef } from '../import-onnx.js'

const MODELS: { readonly [K in Exclude<ModelSpec['kind'], 'onnx'>]: ModelDef<Extract<ModelSpec, { kind: K }>> } = {
  mlp,
  bigram,
  gpt
}

/** The definition of a spec's kind, after validating the spec and what the definition declares. */
export function modelDef (spec: ModelSpec): ModelDef<ModelSpec> {
  const def = spec.kind === 'onnx' ? onnxModelDef(spec) as unknown as ModelDef<ModelSpec> : (MODELS as Record<string, ModelDef<ModelSpec> | undefined>)[spec.kind]
  if (def === undefined) throw new SpecError(`unknown model kind "${spec.kind}"`)
  def.validate(spec)
  checkDeclared(spec.kind, def.inputs(spec), def.target(spec), def)
  return def
}

/**
 * The step builders rely on: a batch axis 'B' first and static other axes (a fused step
 * drops its leading step axis with one Reshape), unique names, and a target whose rank is
 * the one its loss takes.
 */
function checkDeclared (kind: string, inputs: readonly TensorSpec[], target: TensorSpec, def: ModelDef<ModelSpec>): void {
  if (inputs.length === 0) throw new SpecError(`model ${kind} declares no inputs`)
  const names = new Set<string>()
  for (const t of [...inputs, target]) {
    if (names.has(t.name)) throw new SpecError(`model ${kind} declares "${t.name}" twice`)
    names.add(t.name)
    if (t.shape[0] !== 'B') throw new SpecError(`model ${kind}: "${t.name}" must have the batch axis 'B' first`)
    if (!t.shape.slice(1).every(d => typeof d === 'number' && Number.isInteger(d) && d > 0)) {
      throw new SpecError(`model ${kind}: "${t.name}" needs static sizes after the batch axis, got [${t.shape.join(', ')}]`)
    }
  }
  if (target.dtype !== 'int64') throw new SpecError(`model ${kind}: target "${target.name}" must be int64`)
  const loss = LOSSES[def.loss]
  if (loss.targetRank !== target.shape.length) {
    throw new SpecError(`model ${kind}: loss ${def.loss} takes a rank-${loss.targetRank} target, "${target.name}" has rank ${target.shape.length}`)
  }
}

export type { ModelDef } from './model.js'
export { DEFAULT_MLP_SIZES, initMlp, mlpForward, mlpLayout, type MlpSpec } from './mlp.js'
export { bigramLayout, type BigramSpec } from './bigram.js'
export { DEFAULT_GPT, gptLayout, gptDecays, initGpt, type GptSpec } from './gpt.js'
