// Built-in models by ModelSpec kind: a new architecture is one more entry in this table.
import { SpecError } from '../errors.js'
import type { ModelSpec } from '../spec.js'
import type { ModelDef } from './model.js'
import { mlp } from './mlp.js'

const MODELS: { readonly [K in ModelSpec['kind']]: ModelDef<Extract<ModelSpec, { kind: K }>> } = {
  mlp
}

export function modelDef (spec: ModelSpec): ModelDef<ModelSpec> {
  const def = (MODELS as Record<string, ModelDef<ModelSpec> | undefined>)[spec.kind]
  if (def === undefined) throw new SpecError(`unknown model kind "${spec.kind}"`)
  def.validate(spec)
  return def
}

export type { ModelDef } from './model.js'
export { DEFAULT_MLP_SIZES, initMlp, mlpForward, mlpLayout, type MlpSpec } from './mlp.js'
