// Worker thread that owns the ONNX Runtime sessions: session.run is synchronous, so training
// happens here and the main thread (daemon, CLI progress, network) stays responsive.
import { parentPort } from 'node:worker_threads'
import ort from './ort.js'
import { resolveDevice, sessionOptions, type Device } from './device.js'
import type { Envelope, WorkerReply, WorkerRequest, InitRequest } from './protocol.js'

interface State {
  device: Device
  train: Map<number, ort.InferenceSession>
  evalSession: ort.InferenceSession
  input: InitRequest['input']
  target: InitRequest['target']
  evalCorrect: boolean
  stateNames: string[]
  params: Float32Array
  state: Float32Array[]
}

let st: State | undefined

async function init (req: InitRequest): Promise<WorkerReply> {
  const probe = req.trainModels[0].model
  const choice = await resolveDevice(req.device, probe, async (m, o) => await ort.InferenceSession.create(m, o))
  const opts = sessionOptions(choice.device, req.threads)
  const train = new Map<number, ort.InferenceSession>()
  for (const t of req.trainModels) train.set(t.steps, await ort.InferenceSession.create(t.model, opts))
  const evalSession = await ort.InferenceSession.create(req.evalModel, opts)
  const P = req.params.length
  // optimizer state starts at zero; a step counter (if any) is a 1-element tensor
  const state = req.stateNames.map(n => new Float32Array(n === 'opt_t' ? 1 : P))
  st = { device: choice.device, train, evalSession, input: req.input, target: req.target, evalCorrect: req.evalCorrect, stateNames: req.stateNames, params: req.params, state }
  return { type: 'ready', device: choice.device, reason: choice.reason }
}

async function handle (req: WorkerRequest): Promise<WorkerReply> {
  if (req.type === 'init') return await init(req)
  if (st == null) throw new Error('worker not initialised')
  switch (req.type) {
    case 'train': {
      const session = st.train.get(req.steps)
      if (session == null) throw new Error(`no training graph for ${req.steps} fused steps`)
      const feeds: Record<string, ort.Tensor> = {
        params: new ort.Tensor('float32', st.params, [st.params.length]),
        lr: new ort.Tensor('float32', new Float32Array([req.lr]), []),
        [st.input.name]: new ort.Tensor(st.input.dtype, req.x, req.xShape),
        [st.target.name]: new ort.Tensor(st.target.dtype, req.y, req.yShape)
      }
      st.stateNames.forEach((n, i) => { feeds[n] = new ort.Tensor('float32', st!.state[i], [st!.state[i].length]) })
      const out = await session.run(feeds)
      st.params = out.params_out.data as Float32Array
      st.state = st.stateNames.map(n => out[`${n}_out`].data as Float32Array)
      return { type: 'trained', losses: Float32Array.from(out.losses.data as Float32Array) }
    }
    case 'eval': {
      const out = await st.evalSession.run({
        params: new ort.Tensor('float32', st.params, [st.params.length]),
        [st.input.name]: new ort.Tensor(st.input.dtype, req.x, req.xShape),
        [st.target.name]: new ort.Tensor(st.target.dtype, req.y, req.yShape)
      })
      const loss = Number((out.loss.data as Float32Array)[0])
      const correct = st.evalCorrect ? Number((out.correct.data as ArrayLike<number | bigint>)[0]) : 0
      return { type: 'evaluated', loss, correct }
    }
    case 'get':
      return { type: 'params', params: Float32Array.from(st.params), state: st.state.map(s => Float32Array.from(s)) }
    case 'set':
      st.params = req.params
      if (req.state != null) st.state = req.state
      else st.state = st.state.map(s => new Float32Array(s.length))
      return { type: 'done' }
    case 'close':
      return { type: 'done' }
  }
}

// one request at a time, in arrival order
let chain: Promise<void> = Promise.resolve()
parentPort?.on('message', (msg: Envelope<WorkerRequest>) => {
  chain = chain.then(async () => {
    let reply: WorkerReply
    try {
      reply = await handle(msg.body)
    } catch (err) {
      const e = err as { code?: string, message?: string }
      reply = { type: 'error', code: e.code ?? 'ERR_TRAIN_WORKER_FAILED', message: e.message ?? String(err) }
    }
    // replies own fresh copies: transfer their buffers instead of cloning them again
    const transfer = reply.type === 'params' ? [reply.params.buffer, ...reply.state.map(x => x.buffer)] as ArrayBuffer[] : []
    parentPort!.postMessage({ id: msg.id, body: reply }, transfer)
    if (msg.body.type === 'close') process.exit(0)
  })
})
