// `tapestry train`: one node trains a built-in model on a built-in dataset and reports.
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import { DATA_NAMES, MODEL_NAMES, checkPairing, recipe, loadDataOrPath, loadOnnxModelFile, readModelFile, dataKindOf, modelAccepts, readExportedModel, TrainError, TrainErrorCode, type LrSchedule, DEFAULT_INNER_LR, modelSpec, runCentral, saveCheckpoint, loadCheckpoint, parseDeviceRequest, type ModelName, type DataName, type DeviceRequest, type EvalResult } from '../../train/index.js'
import { layoutToString } from '../../tensor/index.js'
import { modelLayout, type LossName, type ModelSpec, type OptimizerSpec } from '../../graph/index.js'
import { parseChoice, parseFloatFlag, parseIntFlag } from '../parse.js'
import { UsageError } from '../errors.js'
import { createLogger } from '../log.js'
import { access, constants } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

export interface TrainOptions {
  /** a built-in model; 'mlp' placeholder when modelFile is set */
  model: ModelName
  /** a node's own ONNX forward graph (`--model path.onnx`) */
  modelFile?: string
  /** gpt's shape, where given (context also cuts the text into windows) */
  shape?: { layers?: number, heads?: number, width?: number, context?: number }
  /** names and loss of an ONNX model when not obvious */
  onnx?: { input?: string, target?: string, loss?: LossName }
  /** a shipped dataset's name, or the path of this node's own text (folder of .txt, or .jsonl) */
  data: string
  steps: number
  batch: number
  lr: number
  optimizer: 'adamw' | 'sgd'
  /** learning-rate schedule over the run */
  schedule: 'constant' | 'cosine'
  fused: number
  device: DeviceRequest
  seed: number
  threads?: number
  save?: string
  load?: string
  /** an exported model (`tapestry export`) to start from: fine-tuning a derivative */
  init?: string
  json: boolean
}

/** Pure: raw commander values → validated options (unit-tested). */
export function parseTrainOptions (raw: Record<string, unknown>): TrainOptions {
  const modelFile = String(raw.model).endsWith('.onnx') ? String(raw.model) : undefined
  const model = modelFile !== undefined ? 'mlp' : parseChoice('model', String(raw.model), MODEL_NAMES)
  const data = String(raw.data)
  // a model trains on one dataset kind: refuse a wrong pairing before loading anything (an ONNX file's kind is known once read)
  if (modelFile !== undefined) { if (!(DATA_NAMES as readonly string[]).includes(data) && !/[/\\.]/.test(data)) throw new UsageError(`unknown --data "${data}"`) } else if ((DATA_NAMES as readonly string[]).includes(data)) checkPairing(model, data as DataName)
  else if (!/[/\\.]/.test(data)) throw new UsageError(`unknown --data "${data}" (expected one of: ${DATA_NAMES.join(', ')}, or the path of a folder of .txt files or a .jsonl file)`)
  else if (modelAccepts(model) !== dataKindOf(data)) throw new TrainError(TrainErrorCode.ModelDataMismatch, `model ${model} trains on ${modelAccepts(model)} data; ${data} is ${dataKindOf(data) === 'tokens' ? 'text' : 'labelled rows'}`)
  // unset flags take the model's recipe (catalog.ts)
  const r = recipe(model)
  return {
    model,
    ...(modelFile !== undefined ? { modelFile, onnx: { input: raw.input as string | undefined, target: raw.target as string | undefined, loss: raw.loss == null ? undefined : parseChoice('loss', String(raw.loss), ['softmax_cross_entropy', 'token_cross_entropy'] as const) } } : {}),
    data,
    shape: {
      ...(raw.layers != null ? { layers: parseIntFlag('layers', raw.layers as string, 1, 256) } : {}),
      ...(raw.heads != null ? { heads: parseIntFlag('heads', raw.heads as string, 1, 256) } : {}),
      ...(raw.width != null ? { width: parseIntFlag('width', raw.width as string, 1, 65_536) } : {}),
      ...(raw.context != null ? { context: parseIntFlag('context', raw.context as string, 1, 65_536) } : {})
    },
    steps: parseIntFlag('steps', raw.steps as string, 1, 10_000_000),
    batch: raw.batch == null ? r.batch : parseIntFlag('batch', raw.batch as string, 1, 65_536),
    lr: raw.lr == null ? r.schedule.lr : parseFloatFlag('lr', raw.lr as string, 0, 10, true),
    optimizer: parseChoice('optimizer', String(raw.optimizer ?? 'adamw'), ['adamw', 'sgd'] as const),
    schedule: parseChoice('schedule', String(raw.schedule ?? r.schedule.kind), ['constant', 'cosine'] as const),
    fused: parseIntFlag('fused', raw.fused as string, 1, 4096),
    device: parseDeviceRequest(String(raw.device)),
    seed: parseIntFlag('seed', raw.seed as string, 0, 2 ** 32 - 1),
    threads: raw.threads == null ? undefined : parseIntFlag('threads', raw.threads as string, 1, 1024),
    save: raw.save as string | undefined,
    load: raw.load as string | undefined,
    init: raw.init as string | undefined,
    json: raw.json === true
  }
}

export function registerTrain (program: Command): void {
  program.command('train')
    .description('train a built-in model on one node and report loss, accuracy and speed')
    .option('--model <name|file.onnx>', `model (${MODEL_NAMES.join('|')}), or an ONNX forward graph (e.g. from torch.onnx.export, opset 13-18) whose initializers are trained`, 'mlp')
    .option('--layers <n>', 'gpt: blocks (default 4)')
    .option('--heads <n>', 'gpt: attention heads (default 4)')
    .option('--width <n>', 'gpt: model width, a multiple of heads (default 128)')
    .option('--context <n>', 'gpt, bigram: bytes per window (default 128)')
    .option('--input <name>', 'ONNX model: the graph input fed with examples (default: its only input)')
    .option('--target <name>', 'ONNX model: the name the labels are fed under (default: y)')
    .option('--loss <name>', 'ONNX model: softmax_cross_entropy (logits [B, C]) or token_cross_entropy (logits [B, T, V]); default by the output rank')
    .option('--data <name|path>', `dataset (${DATA_NAMES.join('|')}), or this node's own data (it never leaves the machine): text as a folder of .txt files or a .jsonl with a "text" field, or labelled rows as a .csv with a header and a "label" column (else the last)`, 'mnist')
    .option('--steps <n>', 'optimizer steps', '600')
    .option('--batch <n>', 'batch size (default: the model\'s recipe: mlp 64, gpt 32)')
    .option('--lr <x>', `peak learning rate (default: the model's recipe: mlp ${DEFAULT_INNER_LR}, gpt 1e-3)`)
    .option('--optimizer <name>', 'adamw|sgd (adamw: the model\'s recipe, for gpt β 0.9/0.95, weight decay 0.1 on matrices, clip 1)', 'adamw')
    .option('--schedule <s>', 'constant|cosine (cosine: 5% linear warmup, then cosine to 10%; default: mlp constant, gpt cosine)')
    .option('--fused <k>', 'inner steps fused into one ONNX Loop run', '16')
    .option('--device <d>', 'auto|cuda|cpu', 'auto')
    .option('--seed <s>', 'seed for initialisation and batches', '1')
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option('--save <file>', 'write the trained parameters to a checkpoint')
    .option('--load <file>', 'start from a checkpoint')
    .option('--init <model.onnx>', 'start from an exported model (`tapestry export`): fine-tune a private derivative, no network involved')
    .option('--json', 'print one JSON object on stdout', false)
    .action(async (raw: Record<string, unknown>) => { await train(parseTrainOptions(raw)) })
}

/** The held-out metrics the model reports, for people. */
function testMetrics (t: EvalResult): string {
  const parts = [`test loss ${t.loss.toFixed(4)}`]
  if (t.accuracy !== undefined) parts.push(`test accuracy ${(t.accuracy * 100).toFixed(2)}%`)
  if (t.bitsPerByte !== undefined) parts.push(`test ${t.bitsPerByte.toFixed(3)} bits/byte`)
  return parts.join('  ')
}

async function train (o: TrainOptions): Promise<void> {
  const log = createLogger()
  // where the result goes is checked before minutes of training, not after
  if (o.save != null) await assertWritableDir(o.save, '--save')
  const file = o.modelFile !== undefined ? await loadOnnxModelFile(o.modelFile, o.onnx) : undefined
  if (file !== undefined && file.accepts !== dataKindOf(o.data)) throw new TrainError(TrainErrorCode.ModelDataMismatch, `${o.modelFile} takes ${file.accepts} data; ${o.data} is ${dataKindOf(o.data)} data`)
  if (o.model !== 'gpt' && o.modelFile === undefined && (o.shape?.layers ?? o.shape?.heads ?? o.shape?.width) !== undefined) throw new UsageError('--layers, --heads and --width shape the gpt model only')
  const { train: trainSet, test } = loadDataOrPath(o.data, file?.context ?? o.shape?.context)
  const base = file?.spec ?? modelSpec(o.model, trainSet)
  const model: ModelSpec = base.kind === 'gpt' ? { ...base, ...o.shape, context: base.context } : base
  modelLayout(model) // a shape that does not fit (width not a multiple of heads) is refused before training
  const optimizer: OptimizerSpec = o.optimizer === 'adamw' ? recipe(o.model).optimizer : { kind: 'sgd', momentum: 0.9 }
  const schedule: LrSchedule = o.schedule === 'constant' ? { kind: 'constant', lr: o.lr } : { kind: 'cosine', lr: o.lr, warmup: 0.05, floor: 0.1 }
  let initialParams: Float32Array | undefined
  if (o.init != null) {
    const m = readExportedModel(await readModelFile(o.init), o.init)
    if (JSON.stringify(m.spec) !== JSON.stringify(model)) {
      throw new TrainError(TrainErrorCode.BadModelFile, `${o.init} is a ${JSON.stringify(m.spec)}, but --model ${o.model} on --data ${o.data} is ${JSON.stringify(model)}`)
    }
    initialParams = m.params
  }
  if (o.load != null) {
    const ck = await loadCheckpoint(o.load, modelLayout(model))
    initialParams = ck.vectors.params
  }
  const bar = !o.json && process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'train |{bar}| {value}/{total} steps  loss {loss}', stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined
  bar?.start(o.steps, 0, { loss: '-' })
  const r = await runCentral({
    model, optimizer, train: trainSet, test, steps: o.steps, batch: o.batch, lr: schedule, fusedSteps: o.fused,
    device: o.device, seed: o.seed, threads: o.threads, initialParams,
    onProgress: (done, loss) => bar?.update(done, { loss: loss.toFixed(4) })
  })
  bar?.stop()
  log.info({ device: r.trainer.device, reason: r.trainer.deviceReason }, `execution provider: ${r.trainer.device}`)
  try {
    if (o.save != null) {
      const { params } = await r.trainer.getParams()
      await saveCheckpoint(o.save, { layout: layoutToString(r.trainer.layout), meta: { model, steps: o.steps, data: o.data }, vectors: { params } })
    }
  } finally {
    await r.trainer.close()
  }
  const out = {
    model: o.modelFile ?? o.model,
    data: o.data,
    params: r.trainer.layout.total,
    steps: o.steps,
    batch: o.batch,
    finalLoss: r.finalLoss,
    testLoss: r.test.loss,
    testAccuracy: r.test.accuracy,
    // language models: the held-out split's bits per byte where classifiers report accuracy
    heldOutBitsPerByte: r.test.bitsPerByte,
    heldOutLoss: r.test.bitsPerByte !== undefined ? r.test.loss : undefined,
    stepsPerSecond: r.stepsPerSecond,
    device: r.trainer.device
  }
  if (o.json) process.stdout.write(JSON.stringify(out) + '\n')
  else {
    process.stdout.write(`model ${out.model} (${out.params} params) on ${out.data}, ${out.steps} steps × batch ${out.batch} on ${out.device}\n` +
      `final loss ${out.finalLoss.toFixed(4)}  ${testMetrics(r.test)}  ${out.stepsPerSecond.toFixed(0)} steps/s\n`)
  }
}

/** The directory `file` would be written to exists and is writable; else a UsageError naming the flag. */
async function assertWritableDir (file: string, flag: string): Promise<void> {
  const dir = dirname(resolve(file))
  try {
    await access(dir, constants.W_OK)
  } catch {
    throw new UsageError(`${flag} ${file}: directory ${dir} does not exist or is not writable`)
  }
}
