// Named built-in models and datasets, shared by `tapestry train`, the simulator and the daemon.
// Each model entry declares the dataset kind it accepts, so a wrong pairing is refused when a run
// is configured, before any data is loaded or any graph is built.
import { readModelFile } from './export.js'
import { basename } from 'node:path'
import { DEFAULT_GPT, importOnnx, onnxModelDef, registeredOnnx, type LossName, type ModelSpec, type OnnxSpec, type OptimizerSpec } from '../graph/index.js'
import type { LrSchedule } from './schedule.js'
import { createTokenDataset, loadLocalCsv, loadLocalText, loadMnist, loadSotu, subset, windowStarts, type ClassificationDataset, type Dataset, type DatasetKind, type TokenDataset } from '../data/index.js'
import { TrainError, TrainErrorCode } from './errors.js'

/** A model entry: the dataset kind it trains on, and its spec derived from such a dataset. */
interface ModelEntry<K extends DatasetKind> {
  readonly accepts: K
  readonly spec: (data: Extract<Dataset, { kind: K }>) => ModelSpec
}

/** A dataset entry: its kind (known without loading it) and its loader. */
interface DataEntry {
  readonly kind: DatasetKind
  readonly load: () => { train: Dataset, test: Dataset }
}

const MODELS = {
  mlp: {
    accepts: 'classification',
    spec: data => ({ kind: 'mlp', sizes: [data.featureShape.reduce((a, b) => a * b, 1), 256, data.numClasses] })
  } satisfies ModelEntry<'classification'>,
  bigram: {
    accepts: 'tokens',
    spec: data => ({ kind: 'bigram', vocab: data.vocabSize, context: data.context })
  } satisfies ModelEntry<'tokens'>,
  gpt: {
    accepts: 'tokens',
    // the dataset fixes vocabulary and context; the rest is the default recipe's shape
    spec: data => ({ kind: 'gpt', vocab: data.vocabSize, context: data.context, layers: DEFAULT_GPT.layers, heads: DEFAULT_GPT.heads, width: DEFAULT_GPT.width })
  } satisfies ModelEntry<'tokens'>
} as const

/** How a model trains alone unless told otherwise: batch, optimizer, learning-rate schedule. */
export interface Recipe {
  batch: number
  optimizer: OptimizerSpec
  schedule: LrSchedule
}

const RECIPES: Readonly<Record<ModelName, Recipe>> = {
  mlp: { batch: 64, optimizer: { kind: 'adamw' }, schedule: { kind: 'constant', lr: 1e-3 } },
  bigram: { batch: 32, optimizer: { kind: 'adamw' }, schedule: { kind: 'constant', lr: 1e-2 } },
  // nanoGPT's small-model recipe: AdamW β 0.9/0.95, weight decay 0.1 on matrices, clip 1, 5% warmup then cosine to 10%
  gpt: {
    batch: 32,
    optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 },
    schedule: { kind: 'cosine', lr: 1e-3, warmup: 0.05, floor: 0.1 }
  }
}

export function recipe (name: ModelName): Recipe {
  return RECIPES[name]
}

const DATA = {
  mnist: { kind: 'classification', load: loadMnist },
  // State of the Union addresses, byte tokens; held out: the years ending in 5
  sotu: { kind: 'tokens', load: () => loadSotu({ context: 128 }) }
} as const satisfies Readonly<Record<string, DataEntry>>

export type ModelName = keyof typeof MODELS
export type DataName = keyof typeof DATA
export const MODEL_NAMES = Object.keys(MODELS) as readonly ModelName[]
export const DATA_NAMES = Object.keys(DATA) as readonly DataName[]

/** The dataset kind a model accepts. */
export function modelAccepts (name: ModelRef): DatasetKind {
  if (isOnnxRef(name)) return onnxAccepts(loadedOnnx(name))
  return MODELS[name].accepts
}

/** A node's own ONNX model as a run names it: its file's sha256 (every member loads the same file). */
export type OnnxRef = `onnx:${string}`
/** A built-in model's name, or an ONNX model file's reference. */
export type ModelRef = ModelName | OnnxRef

export function isOnnxRef (m: string): m is OnnxRef {
  return /^onnx:[0-9a-f]{64}$/.test(m)
}

export function onnxRef (spec: OnnxSpec): OnnxRef {
  return `onnx:${spec.id}`
}

function loadedOnnx (ref: OnnxRef): OnnxSpec {
  const spec = registeredOnnx(ref.slice(5))
  if (spec === undefined) throw new TrainError(TrainErrorCode.UnknownModel, `model ${ref.slice(0, 17)}… is an ONNX file not loaded here: give its path (modelPath in the node config, --model file.onnx)`)
  return spec
}

function onnxAccepts (spec: OnnxSpec): DatasetKind {
  return onnxModelDef(spec).inputs(spec)[0].dtype === 'int64' ? 'tokens' : 'classification'
}

/** The kind of a named dataset, without loading it. */
export function dataKind (name: DataName): DatasetKind {
  return DATA[name].kind
}

/** Throws ERR_TRAIN_MODEL_DATA_MISMATCH unless the model trains on the dataset's kind; call it when a run is configured. */
export function checkPairing (model: ModelRef, data: DataName): void {
  refuseMismatch(model, dataKind(data), `dataset ${data}`)
}

/** The model's spec for this dataset; throws ERR_TRAIN_MODEL_DATA_MISMATCH for a dataset of the wrong kind. */
export function modelSpec (name: ModelRef, data: Dataset): ModelSpec {
  refuseMismatch(name, data.kind, 'the dataset')
  if (isOnnxRef(name)) {
    const spec = loadedOnnx(name)
    const input = onnxModelDef(spec).inputs(spec)[0]
    if (data.kind === 'tokens' && input.shape[1] !== data.context) throw new TrainError(TrainErrorCode.ModelDataMismatch, `${spec.name} takes windows of ${String(input.shape[1])} tokens; the dataset's are ${data.context}`)
    return spec
  }
  // each branch hands the entry the dataset kind it declared
  switch (data.kind) {
    case 'classification': return (MODELS[name] as ModelEntry<'classification'>).spec(data)
    case 'tokens': return (MODELS[name] as ModelEntry<'tokens'>).spec(data)
  }
}

export function loadData (name: DataName): { train: Dataset, test: Dataset } {
  return DATA[name].load()
}

function refuseMismatch (model: ModelRef, kind: DatasetKind, what: string): void {
  if (isOnnxRef(model)) {
    const accepts = modelAccepts(model)
    if (accepts !== kind) throw new TrainError(TrainErrorCode.ModelDataMismatch, `model ${loadedOnnx(model).name} trains on ${accepts} data; ${what} is ${kind} data`)
    return
  }
  const entry = MODELS[model] as ModelEntry<DatasetKind> | undefined
  if (entry === undefined) throw new TrainError(TrainErrorCode.UnknownModel, `unknown model "${String(model)}"`)
  if (entry.accepts !== kind) {
    throw new TrainError(TrainErrorCode.ModelDataMismatch, `model ${model} trains on ${entry.accepts} data; ${what} is ${kind} data`)
  }
}

/** Inner optimizer used for local training unless a caller overrides it. */
export const DEFAULT_INNER_OPTIMIZER: OptimizerSpec = { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }
export const DEFAULT_INNER_LR = 1e-3

/** Every 10th document (and at least one) is held out of a node's own text. */
const HELD_OUT_EVERY = 10

/**
 * A node's own text (a folder of .txt files or a .jsonl file, loadLocalText) as train and
 * held-out splits: documents 9, 19, 29, … are held out (the last one when there are fewer than 10);
 * a single document is cut 90/10 at a byte boundary. The bytes never leave this process.
 */
export function loadLocalTextSplit (path: string, context: number, field?: string): { train: TokenDataset, test: TokenDataset } {
  const all = loadLocalText(path, { context, field })
  const bytes = Uint8Array.from(all.tokens) // byte-level: every id < 256
  const docs = Array.from({ length: all.n }, (_, d) => bytes.subarray(all.docStarts[d], all.docStarts[d + 1]))
  let train: Uint8Array[]
  let test: Uint8Array[]
  if (docs.length === 1) {
    const cut = Math.floor(docs[0].length * 0.9)
    train = [docs[0].subarray(0, cut)]
    test = [docs[0].subarray(cut)]
  } else {
    const held = (d: number): boolean => docs.length < HELD_OUT_EVERY ? d === docs.length - 1 : d % HELD_OUT_EVERY === HELD_OUT_EVERY - 1
    train = docs.filter((_, d) => !held(d))
    test = docs.filter((_, d) => held(d))
  }
  const join = (parts: Uint8Array[]): TokenDataset => {
    const starts = [0]
    for (const p of parts) starts.push(starts[starts.length - 1] + p.length)
    const bytes = new Uint8Array(starts[starts.length - 1])
    parts.forEach((p, i) => bytes.set(p, starts[i]))
    return createTokenDataset(bytes, starts, all.vocabSize, context)
  }
  const split = { train: join(train), test: join(test) }
  for (const [name, ds] of Object.entries(split)) {
    if (windowStarts(ds, null).length === 0) throw new TrainError(TrainErrorCode.BadInput, `${path}: the ${name === 'test' ? 'held-out' : 'training'} part has no document of ${context + 1} bytes or more`)
  }
  return split
}

/** A node's own labelled rows (a .csv) as train and held-out splits: every 10th row held out. */
export function loadLocalCsvSplit (path: string, numClasses?: number): { train: ClassificationDataset, test: ClassificationDataset } {
  const all = loadLocalCsv(path, { numClasses })
  const rows = Array.from({ length: all.n }, (_, i) => i)
  const held = (i: number): boolean => all.n < HELD_OUT_EVERY ? i === all.n - 1 : i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1
  if (all.n < 2) throw new TrainError(TrainErrorCode.BadInput, `${path}: one row cannot be both trained on and held out`)
  return { train: subset(all, rows.filter(i => !held(i))), test: subset(all, rows.filter(held)) }
}

/** A shipped dataset by name, or a node's own data by path: text (a folder of .txt, or a .jsonl) or labelled rows (a .csv). */
export function loadDataOrPath (nameOrPath: string, context = 128): { train: Dataset, test: Dataset } {
  if (nameOrPath === 'sotu') return loadSotu({ context })
  if ((DATA_NAMES as readonly string[]).includes(nameOrPath)) return loadData(nameOrPath as DataName)
  if (nameOrPath.toLowerCase().endsWith('.csv')) return loadLocalCsvSplit(nameOrPath)
  return loadLocalTextSplit(nameOrPath, context)
}

/** The dataset kind of a name or a local path (a .csv is labelled rows, anything else text). */
export function dataKindOf (nameOrPath: string): DatasetKind {
  if ((DATA_NAMES as readonly string[]).includes(nameOrPath)) return dataKind(nameOrPath as DataName)
  return nameOrPath.toLowerCase().endsWith('.csv') ? 'classification' : 'tokens'
}

/** A node's own ONNX model (`--model path.onnx`): its spec, the dataset kind it takes, and its context for text. */
export interface OnnxModelFile {
  spec: OnnxSpec
  accepts: DatasetKind
  /** token models: the window the input declares */
  context?: number
}

/** Reads and registers an ONNX forward graph (importOnnx), refusing an unreadable file with ERR_TRAIN_BAD_MODEL_FILE. */
export async function loadOnnxModelFile (path: string, o: { input?: string, target?: string, loss?: LossName } = {}): Promise<OnnxModelFile> {
  const { spec } = importOnnx(await readModelFile(path), { name: basename(path), ...o })
  const input = onnxModelDef(spec).inputs(spec)[0]
  const accepts: DatasetKind = input.dtype === 'int64' ? 'tokens' : 'classification'
  return { spec, accepts, ...(accepts === 'tokens' ? { context: input.shape[1] as number } : {}) }
}

/** A run's dataset loaded for its model: an ONNX language model fixes the window its input declares. */
export function loadDataFor (model: ModelRef, data: DataName): { train: Dataset, test: Dataset } {
  if (isOnnxRef(model)) {
    const spec = loadedOnnx(model)
    const input = onnxModelDef(spec).inputs(spec)[0]
    if (input.dtype === 'int64') return loadDataOrPath(data, input.shape[1] as number)
  }
  return loadData(data)
}
