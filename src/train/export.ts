// Taking a model home: an ordinary ONNX inference graph (weights as initializers, the model spec in
// its metadata) that stock ONNX Runtime runs, and reading such a file back as a starting point.
import { readFile } from 'node:fs/promises'
import { buildInferenceModel, decodeModel, modelLayout, tensorData, type ModelSpec } from '../graph/index.js'
import { layoutToString } from '../tensor/index.js'
import { TrainError, TrainErrorCode } from './errors.js'

/** The bytes of a model file; an unreadable one is ERR_TRAIN_BAD_MODEL_FILE naming it. */
export async function readModelFile (path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new TrainError(TrainErrorCode.BadModelFile, `cannot read ${path}: ${(err as Error).message}`)
  }
}

/** Metadata keys of an exported model. */
export const EXPORT_META = { spec: 'tapestry.model', layout: 'tapestry.layout', source: 'tapestry.source' } as const

/** ONNX bytes of `spec` with `params` as initializers; `source` says where they came from (a checkpoint, a run's round). */
export function exportModel (spec: ModelSpec, params: Float32Array, source: string): Uint8Array {
  return buildInferenceModel(spec, params, {
    [EXPORT_META.spec]: JSON.stringify(spec),
    [EXPORT_META.layout]: layoutToString(modelLayout(spec)),
    [EXPORT_META.source]: source
  })
}

export interface ExportedModel {
  spec: ModelSpec
  params: Float32Array
  source: string
}

/**
 * Reads a model written by exportModel: the spec from its metadata, the flat parameters from its
 * initializers in layout order. A file that is not ONNX, lacks the metadata, or whose initializers
 * do not fill the spec's layout is one TrainError (ERR_TRAIN_BAD_MODEL_FILE).
 */
export function readExportedModel (bytes: Uint8Array, file = 'model'): ExportedModel {
  const bad = (why: string): TrainError => new TrainError(TrainErrorCode.BadModelFile, `${file}: ${why}`)
  let proto
  try { proto = decodeModel(bytes) } catch (err) { throw bad(`not an ONNX model (${(err as Error).message})`) }
  const meta = new Map((proto.metadataProps ?? []).map(p => [p.key ?? '', p.value ?? '']))
  const specText = meta.get(EXPORT_META.spec)
  if (specText === undefined) throw bad(`no ${EXPORT_META.spec} metadata: not exported by \`tapestry export\``)
  let spec: ModelSpec
  let layout
  try {
    spec = JSON.parse(specText) as ModelSpec
    layout = modelLayout(spec)
  } catch (err) { throw bad(`its model spec is not usable (${(err as Error).message})`) }
  const inits = new Map((proto.graph?.initializer ?? []).map(t => [t.name ?? '', t]))
  const params = new Float32Array(layout.total)
  for (const e of layout.entries) {
    const t = inits.get(e.name)
    if (t == null) throw bad(`initializer ${e.name} missing`)
    let values
    try { values = tensorData(t, file).data } catch (err) { throw bad((err as Error).message) }
    if (!(values instanceof Float32Array)) throw bad(`initializer ${e.name} is not float32`)
    if (values.length !== e.size) throw bad(`initializer ${e.name} has ${values.length} values, the layout needs ${e.size}`)
    params.set(values, e.offset)
  }
  return { spec, params, source: meta.get(EXPORT_META.source) ?? '' }
}
