// `tapestry export` (a checkpoint or a node's current model → an ordinary ONNX file) and
// `tapestry sample` (text from an exported language model): the model goes home with its contributors.
import type { Command } from 'commander'
import { stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { exportModel, loadCheckpoint, readModelFile, loadData, modelSpec, readExportedModel, sampleText, TrainError, TrainErrorCode } from '../../train/index.js'
import { modelLayout, type ModelSpec } from '../../graph/index.js'
import { dataDirPaths } from '../../daemon/datadir.js'
import { loadNodeConfig } from '../../daemon/config.js'
import { ChainStore } from '../../daemon/chain-store.js'
import { parseFloatFlag, parseIntFlag } from '../parse.js'
import { UsageError } from '../errors.js'

async function writable (out: string): Promise<void> {
  const dir = dirname(out)
  if (!await stat(dir).then(s => s.isDirectory(), () => false)) throw new UsageError(`--out: directory ${dir} does not exist`)
}

/** The current global model of a node's data directory: its last persisted round state. */
export async function fromDataDir (dir: string): Promise<{ spec: ModelSpec, params: Float32Array, source: string, round: number, modelId: string }> {
  const paths = dataDirPaths(dir)
  const cfg = await loadNodeConfig(paths.config)
  const spec = modelSpec(cfg.model, loadData(cfg.data).train)
  const store = new ChainStore(paths.chain, paths.state)
  await store.open()
  const snap = await store.loadSnapshot(modelLayout(spec))
  if (snap == null) throw new TrainError(TrainErrorCode.BadInput, `${paths.root} has applied no round yet: nothing to export`)
  return { spec, params: snap.chain.params, source: `run model after round ${snap.chain.round - 1} (${snap.chain.modelId})`, round: snap.chain.round - 1, modelId: snap.chain.modelId }
}

export function registerExport (program: Command): void {
  program.command('export')
    .description('write a trained model as an ordinary ONNX inference graph (weights as initializers) that stock ONNX Runtime runs')
    .requiredOption('--out <file>', 'the .onnx file to write')
    .option('--checkpoint <file>', 'from a checkpoint written by `tapestry train --save`')
    .option('--data-dir <dir>', "from a node's data directory: the run's model after the last round it applied")
    .option('--json', 'print one JSON object', false)
    .action(async (o: { out: string, checkpoint?: string, dataDir?: string, json: boolean }) => {
      if ((o.checkpoint == null) === (o.dataDir == null)) throw new UsageError('give exactly one of --checkpoint and --data-dir')
      await writable(o.out)
      let m: { spec: ModelSpec, params: Float32Array, source: string }
      if (o.checkpoint != null) {
        const ck = await loadCheckpoint(o.checkpoint)
        const spec = ck.meta.model as ModelSpec | undefined
        if (spec == null) throw new TrainError(TrainErrorCode.CheckpointCorrupt, `${o.checkpoint} names no model spec`)
        const checked = await loadCheckpoint(o.checkpoint, modelLayout(spec))
        m = { spec, params: checked.vectors.params, source: `checkpoint ${o.checkpoint}` }
      } else {
        m = await fromDataDir(o.dataDir!)
      }
      const bytes = exportModel(m.spec, m.params, m.source)
      await writeFile(o.out, bytes)
      if (o.json) process.stdout.write(JSON.stringify({ out: o.out, bytes: bytes.byteLength, model: m.spec, params: m.params.length, source: m.source }) + '\n')
      else process.stdout.write(`wrote ${o.out}: ${m.spec.kind} with ${m.params.length} parameters (${(bytes.byteLength / 1e6).toFixed(1)} MB), from ${m.source}\n`)
    })

  program.command('sample')
    .description('generate text with an exported byte-level language model (`tapestry export`)')
    .requiredOption('--model <file>', 'an .onnx file written by `tapestry export`')
    .option('--prompt <text>', 'text to continue', '')
    .option('--tokens <n>', 'bytes to generate', '200')
    .option('--temperature <t>', '0 = most likely byte each time; 1 = sample the model\'s distribution', '0.8')
    .option('--seed <s>', 'sampling seed', '1')
    .action(async (o: { model: string, prompt: string, tokens: string, temperature: string, seed: string }) => {
      const bytes = await readModelFile(o.model)
      const m = readExportedModel(bytes, o.model)
      const text = await sampleText(bytes, m.spec, {
        prompt: o.prompt,
        tokens: parseIntFlag('tokens', o.tokens, 1, 100_000),
        temperature: parseFloatFlag('temperature', o.temperature, 0, 100),
        seed: parseIntFlag('seed', o.seed, 0, 2 ** 32 - 1)
      })
      process.stdout.write(text + '\n')
    })
}
