// The transfer a gossip round is made of — one member's update fetched by the three others at
// once, over connections idle for a second — timed three ways on the same emulated links: the
// simulator's network model, kernel TCP (request, then the bytes), and libp2p's blob protocol
// (the daemons' fetch). Where a round's real time parts from the simulated one, this says whether
// the link model or what runs over the links is the reason. Used by bench/links.ts; this file is
// also each member's child process (`--link-probe-role=…`, run inside its namespace).
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { createTapestryHost, serveBlobs, fetchBlob, MemoryBlobStore } from '../src/net/index.js'
import { NetworkModel } from '../src/sim/network.js'
import { buildTopology, type LinkSpec } from '../src/sim/topology.js'
import { Rng } from '../src/tensor/index.js'
import type { HubNetwork } from './net-link.js'

const ROLE_ARG = '--link-probe-role='
const TCP_PORT = 7311
/** between repetitions: longer than a retransmission timeout, as between rounds, so windows restart */
const IDLE_MS = 1_000
const REQUEST = Buffer.from([1])

export interface ProbeResult {
  /** per repetition: ms until the last of the receivers had the whole blob */
  modelMs: number
  tcpMs: number[]
  blobMs: number[]
}

/** The model's answer: receivers 1..n−1 request `bytes` from node 0 at `at` on model `m`; ms until the last has it. */
function modelFanOutOn (m: NetworkModel, n: number, bytes: number, at: number): number {
  let last = at
  for (let to = 1; to < n; to++) last = Math.max(last, m.transferArrival(at, 0, to, bytes) ?? Infinity)
  return last - at
}

/**
 * The model's fan-outs as the probe runs them: one after another over the same connections, each
 * `IDLE_MS` after the last ended, after `warmUp` unmeasured ones (the probe's connections carried
 * a warm-up and earlier repetitions; over a lossy path they keep the window their losses left).
 * Over a lossy path each is one roll of its losses, so one says little.
 */
export function modelFanOutDraws (n: number, link: LinkSpec, downlinkMBps: number | undefined, bytes: number, draws = 1000, warmUp = 8): number[] {
  const m = fanOutModel(n, link, downlinkMBps, 1)
  const out: number[] = []
  let at = 0
  for (let i = 0; i < warmUp + draws; i++) {
    const ms = modelFanOutOn(m, n, bytes, at)
    if (i >= warmUp) out.push(ms)
    at += ms + IDLE_MS
  }
  return out
}

function fanOutModel (n: number, link: LinkSpec, downlinkMBps: number | undefined, seed: number): NetworkModel {
  return new NetworkModel(buildTopology({ kind: 'full' }, n, link, new Rng(seed)), new Rng(seed).fork('probe'), downlinkMBps != null ? { downlinkMBps: () => downlinkMBps } : {})
}

/** Lines from a child's stdout, each to the first waiter that wants it. */
class Child {
  private buf = ''
  private readonly lines: string[] = []
  private readonly waiters: Array<{ want: (l: string) => boolean, resolve: (l: string) => void }> = []

  constructor (readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString()
      let i
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i)
        this.buf = this.buf.slice(i + 1)
        const w = this.waiters.findIndex(x => x.want(line))
        if (w >= 0) this.waiters.splice(w, 1)[0].resolve(line)
        else this.lines.push(line)
      }
    })
  }

  send (line: string): void { this.proc.stdin?.write(line + '\n') }

  /** the next line starting with `prefix`; a line "error …" from the child fails it */
  async expect (prefix: string, timeoutMs: number): Promise<string> {
    const line = await this.next(l => l.startsWith(prefix) || l.startsWith('error '), prefix, timeoutMs)
    if (line.startsWith('error ')) throw new Error(`link probe child: ${line.slice(6)}`)
    return line
  }

  private async next (want: (l: string) => boolean, prefix: string, timeoutMs: number): Promise<string> {
    const i = this.lines.findIndex(want)
    if (i >= 0) return this.lines.splice(i, 1)[0]
    let timer: NodeJS.Timeout | undefined
    let onExit: ((code: number | null) => void) | undefined
    try {
      return await Promise.race([
        new Promise<string>(resolve => this.waiters.push({ want, resolve })),
        new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`link probe: no "${prefix}" within ${timeoutMs} ms`)), timeoutMs) }),
        new Promise<never>((_resolve, reject) => { onExit = code => reject(new Error(`link probe child exited with ${String(code)}`)); this.proc.once('exit', onExit) })
      ])
    } finally {
      clearTimeout(timer)
      if (onExit != null) this.proc.off('exit', onExit)
    }
  }
}

/**
 * Times `reps` fan-outs of a `bytes` blob from member 0 to every other member of `net`, by kernel
 * TCP and by the blob protocol; `model` is the network model's time for the same transfers.
 */
export async function probeFanOut (net: HubNetwork, bytes: number, reps: number, model: number): Promise<ProbeResult> {
  const script = fileURLToPath(import.meta.url)
  const children: Child[] = []
  try {
    for (let i = 0; i < net.members.length; i++) {
      const m = net.members[i]
      const role = i === 0 ? 'sender' : 'receiver'
      children.push(new Child(spawn('ip', ['netns', 'exec', m.ns, process.execPath, script, `${ROLE_ARG}${role}`, m.addr, String(bytes)], { stdio: ['pipe', 'pipe', 'inherit'] })))
    }
    const [sender, ...receivers] = children
    const ready = await sender.expect('ready ', 30_000)
    const [, blobAddr, cids] = ready.split(' ')
    for (const r of receivers) r.send(`connect ${net.members[0].addr} ${blobAddr}`)
    for (const r of receivers) await r.expect('connected', 30_000)
    const once = async (kind: 'tcp' | 'blob', rep: number): Promise<number> => {
      await new Promise(resolve => setTimeout(resolve, IDLE_MS))
      const t0 = performance.now()
      for (const r of receivers) r.send(kind === 'tcp' ? 'tcp' : `blob ${cids.split(',')[rep]}`)
      await Promise.all(receivers.map(async r => await r.expect(`${kind}-done`, 60_000)))
      return performance.now() - t0
    }
    // one warm-up each: the first use of a connection (and of the code) is not a round's
    await once('tcp', 0)
    await once('blob', 0)
    const tcpMs: number[] = []
    const blobMs: number[] = []
    for (let rep = 1; rep <= reps; rep++) {
      tcpMs.push(await once('tcp', rep))
      blobMs.push(await once('blob', rep))
    }
    return { modelMs: model, tcpMs, blobMs }
  } finally {
    for (const c of children) c.proc.kill()
  }
}

// ---------------------------------------------------------------- the children

async function child (role: string, addr: string, bytes: number): Promise<void> {
  const out = (s: string): void => { process.stdout.write(s + '\n') }
  const host = await createTapestryHost({ runId: 'link-probe', listen: [`/ip4/${addr}/tcp/0`] })
  const store = new MemoryBlobStore()
  await serveBlobs(host, { store })
  if (role === 'sender') {
    const blob = Buffer.from(randomBytes(bytes))
    const cids = Array.from({ length: 64 }, () => store.put(randomBytes(bytes)).toString())
    // a request byte is answered with the whole blob
    const server = createServer({ noDelay: true }, sock => {
      sock.on('data', d => { for (let i = 0; i < d.length; i++) sock.write(blob) })
      sock.on('error', () => {})
    })
    server.listen(TCP_PORT, addr, () => { out(`ready ${host.multiaddrs()[0].toString()} ${cids.join(',')}`) })
    return
  }
  let sock: Socket | undefined
  let provider = ''
  let got = 0
  let input = ''
  process.stdin.on('data', (d: Buffer) => {
    input += d.toString()
    let i
    while ((i = input.indexOf('\n')) >= 0) {
      const [cmd, a, b] = input.slice(0, i).split(' ')
      input = input.slice(i + 1)
      if (cmd === 'connect') {
        provider = b.split('/p2p/')[1]
        sock = connect({ host: a, port: TCP_PORT, noDelay: true }, () => {
          host.dial(multiaddr(b)).then(() => out('connected'), err => { out(`error ${(err as Error).message}`) })
        })
        sock.on('data', d => { got += d.length; if (got >= bytes) { got -= bytes; out('tcp-done') } })
        sock.on('error', err => { out(`error ${err.message}`) })
      } else if (cmd === 'tcp') sock?.write(REQUEST)
      else if (cmd === 'blob') {
        fetchBlob(host, a, [provider], { maxBytes: bytes, timeoutMs: 60_000 }).then(() => out('blob-done'), err => { out(`error ${(err as Error).message}`) })
      }
    }
  })
  process.stdin.on('end', () => process.exit(0))
}

const roleArg = process.argv.find(a => a.startsWith(ROLE_ARG))
if (roleArg != null) {
  const i = process.argv.indexOf(roleArg)
  await child(roleArg.slice(ROLE_ARG.length), process.argv[i + 1], Number(process.argv[i + 2]))
}
