// The training-step model: forward, loss, autodiff and optimizer over one flat vector, K steps fused by Loop.
import { GraphBuilder, type Value } from './builder.js'
import { gradients } from './autodiff.js'
import { SpecError } from './errors.js'
import { bucketLayout, joinBuckets, singleBucket, splitBuckets, unflattenBuckets, type Bucket } from './flat-params.js'
import { modelDef } from './models/index.js'
import { LOSSES } from './losses.js'
import { constTensor, gather, int64Scalar, loop, reshape } from './ops/index.js'
import { tensor } from './types.js'
import { optimizerState, optimizerStep, resolveOptimizer, type StateSlot } from './optimizers.js'
import { serializeModel } from './serialize.js'
import { IO, type ModelSpec, type OptimizerSpec, type TrainingStepGraph } from './spec.js'

/** Parameters and optimizer state as the step sees them: vectors per bucket, per slot. */
interface Carried {
  params: Value[]
  state: Value[][]
}

/**
 * Builds the graph
 *   inputs  params [P] f32, <state>… f32, lr [] f32, <input>… [K, B, …], <target> [K, B, …] int64
 *   outputs params_out [P], <state>_out…, losses [K] f32
 * with the inputs and the target named, typed and shaped as the model declares them (for
 * the MLP: x [K, B, 784] f32, y [K, B] int64), and the loss the model names.
 * B is free (taken from Shape(x) wherever it matters, so partial batches work).
 * With K > 1 the steps run in one ONNX Loop whose body Gathers batch i; parameters and
 * optimizer state stay inside the runtime between steps, cut into buckets so the large
 * weights are not copied out of and back into the flat vector on every step.
 */
export function buildTrainingStep (model: ModelSpec, opt: OptimizerSpec, innerSteps: number): TrainingStepGraph {
  const k = innerSteps
  if (!Number.isInteger(k) || k < 1) throw new SpecError(`innerSteps must be a positive integer, got ${k}`)
  const def = modelDef(model)
  const layout = def.layout(model)
  const inputs = def.inputs(model)
  const target = def.target(model)
  const loss = LOSSES[def.loss]
  const slots = optimizerState(opt)
  const p = layout.total
  // one step pays a Split and a Concat per bucket and state slot at its boundary, so a
  // single step keeps the one flat vector; a Loop pays them once per run
  const buckets = k === 1 ? singleBucket(layout) : bucketLayout(layout)

  const g = new GraphBuilder(k === 1 ? 'training_step' : `training_step_x${k}`)
  // masks only where decay happens: an unused constant makes ORT warn on every session
  const decayMasks = def.decays === undefined || resolveOptimizer(opt).weightDecay === 0 ? undefined : buckets.map(b => decayMask(g, b, def.decays!))
  const params = g.input(IO.params, 'float32', [p])
  const state = slots.map(s => g.input(s.name, 'float32', s.like === 'params' ? [p] : [1]))
  const lr = g.input(IO.lr, 'float32', [])
  const fed = [...inputs, target].map(t => g.input(t.name, t.dtype, [k, ...t.shape]))

  /** one step on per-step values, in declaration order: the inputs, then the target */
  const step = (c: Carried, vs: Value[]): { next: Carried, loss: Value } => {
    const named = Object.fromEntries(inputs.map((t, i) => [t.name, vs[i]]))
    const output = def.forward(model, unflattenBuckets(c.params, buckets), named)
    const mean = loss.mean(output, vs[inputs.length])
    const grads = gradients(mean, c.params)
    const next = optimizerStep(opt, { params: c.params, grads, lr, state: c.state, decayMasks })
    return { next, loss: mean }
  }

  const initial: Carried = {
    params: splitBuckets(params, buckets),
    state: state.map((v, i) => slots[i].like === 'params' ? splitBuckets(v, buckets) : [v])
  }
  const tensors = [...inputs, target]
  let final: Carried
  let losses: Value
  if (k === 1) {
    // [1, B, …] → [B, …]: a Reshape drops the leading axis without the copy a Gather makes
    const r = step(initial, fed.map((v, i) => reshape(v, [-1, ...(tensors[i].shape.slice(1) as number[])])))
    final = r.next
    losses = reshape(r.loss, [1])
  } else {
    const res = loop(g, int64Scalar(g, k), pack(initial), b => {
      const r = step(unpack(b.carried, slots, buckets), fed.map(v => gather(v, b.iter, 0)))
      return { carried: pack(r.next), scans: [r.loss] }
    }, 'inner_steps')
    final = unpack(res.carried, slots, buckets)
    losses = res.scans[0]
  }
  g.output(joinBuckets(final.params), IO.paramsOut)
  final.state.forEach((vs, i) => g.output(joinBuckets(vs), `${slots[i].name}_out`))
  g.output(losses, IO.losses)

  return {
    model: serializeModel(g, { docString: `training step: ${model.kind}, ${opt.kind}, ${k} inner step(s)` }),
    layout,
    stateNames: slots.map(s => s.name),
    innerSteps: k,
    inputs,
    target
  }
}

/** 1 when every tensor of the bucket decays, 0 when none does, else a constant 0/1 vector over the bucket. */
function decayMask (g: GraphBuilder, b: Bucket, decays: (name: string) => boolean): Value | 0 | 1 {
  const flags = b.entries.map(e => decays(e.name))
  if (flags.every(f => f)) return 1
  if (flags.every(f => !f)) return 0
  const m = new Float32Array(b.size)
  for (const e of b.entries) if (decays(e.name)) m.fill(1, e.offset - b.offset, e.offset - b.offset + e.size)
  return constTensor(g, tensor('float32', [b.size], m))
}

function pack (c: Carried): Value[] {
  return [...c.params, ...c.state.flat()]
}

function unpack (vs: readonly Value[], slots: readonly StateSlot[], buckets: readonly Bucket[]): Carried {
  let at = buckets.length
  const state = slots.map(s => {
    const n = s.like === 'params' ? buckets.length : 1
    const part = vs.slice(at, at + n)
    at += n
    return part
  })
  return { params: vs.slice(0, buckets.length), state }
}
