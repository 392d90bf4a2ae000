// The transfers a gossip round is made of, over connections idle for a second, timed three ways on
// the same emulated links: the simulator's network model, kernel TCP (request, then the bytes),
// and libp2p's blob protocol (the daemons' fetch). Two patterns: one member's update fetched by
// the others at once (fan-out), and every member fetching every other's at once (the exchange of
// a gossip round); and that exchange staggered, each update fetched from its own moment, as
// announces come in a round (kernel TCP and the model). Where a round's real time parts from the
// simulated one, this says whether the link model or what runs over the links is the reason. Used by bench/links.ts; this file is also
// each member's child process (`--link-probe-child`, run inside its namespace).
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

const CHILD_ARG = '--link-probe-child'
const TCP_PORT = 7311
/** between repetitions: longer than a retransmission timeout, as between rounds, so windows restart */
const IDLE_MS = 1_000
const REQUEST = Buffer.from([1])
/** the staggered exchange: each member's update is fetched by the others from a moment drawn in [0, this) ms */
export const STAGGER_MS = 400

export interface ProbeResult {
  /** fan-out, per repetition: ms until the last of the receivers had the whole blob */
  modelMs: number
  tcpMs: number[]
  blobMs: number[]
  /** exchange, every transfer of every repetition: ms from its request to its last byte */
  exchange: { tcpFlowMs: number[], blobFlowMs: number[] }
  /** the same exchange by kernel TCP with the updates staggered (STAGGER_MS), as announces come in a round */
  staggered: { tcpFlowMs: number[] }
}

/**
 * The model's answer to the probe: `draws` repetitions, one after another over the same
 * connections, each `IDLE_MS` after the last ended, after `warmUp` unmeasured ones (the probe's
 * connections carried a warm-up and earlier repetitions; over a lossy path they keep the window
 * their losses left). Each repetition requests `bytes` along every [from, to] of `pairs`, at once
 * or, with `offsets` (per member, drawn each repetition), member `from`'s blob `offsets[from]` ms
 * in; each transfer's ms from its own request, one array per repetition. Over a lossy path each
 * is one roll of its losses, so one says little.
 */
function modelRepetitions (n: number, link: LinkSpec, downlinkMBps: number | undefined, bytes: number, pairs: Array<[number, number]>, draws: number, warmUp: number, offsets?: () => number[]): number[][] {
  const m = new NetworkModel(buildTopology({ kind: 'full' }, n, link, new Rng(1)), new Rng(1).fork('probe'), downlinkMBps != null ? { downlinkMBps: () => downlinkMBps } : {})
  const out: number[][] = []
  let at = 0
  for (let i = 0; i < warmUp + draws; i++) {
    const off = offsets?.() ?? new Array<number>(n).fill(0)
    // requests in time order: the model books each link first come, first served
    const ordered = [...pairs].sort((a, b) => off[a[0]] - off[b[0]])
    const ms = ordered.map(([from, to]) => (m.transferArrival(at + off[from], from, to, bytes) ?? Infinity) - (at + off[from]))
    if (i >= warmUp) out.push(ms)
    at += Math.max(0, ...ms.map((x, k) => off[ordered[k][0]] + x)) + IDLE_MS
  }
  return out
}

/** The model's fan-outs (receivers 1..n−1 fetch from node 0 at once): ms until the last has it, per repetition. */
export function modelFanOutDraws (n: number, link: LinkSpec, downlinkMBps: number | undefined, bytes: number, draws = 1000, warmUp = 8): number[] {
  const pairs = Array.from({ length: n - 1 }, (_, k): [number, number] => [0, k + 1])
  return modelRepetitions(n, link, downlinkMBps, bytes, pairs, draws, warmUp).map(ms => Math.max(...ms))
}

/** The model's exchanges (every member fetching every other's update at once): each transfer's ms. */
export function modelExchangeFlows (n: number, link: LinkSpec, downlinkMBps: number | undefined, bytes: number, draws = 300, warmUp = 8): number[] {
  return modelRepetitions(n, link, downlinkMBps, bytes, exchangePairs(n), draws, warmUp).flat()
}

/**
 * The model's staggered exchanges: in each repetition member j's update is fetched by every other
 * member from a moment drawn in [0, STAGGER_MS); each transfer's ms from its own request.
 */
export function modelStaggeredFlows (n: number, link: LinkSpec, downlinkMBps: number | undefined, bytes: number, draws = 300, warmUp = 8): number[] {
  const rng = new Rng(1).fork('stagger')
  return modelRepetitions(n, link, downlinkMBps, bytes, exchangePairs(n), draws, warmUp, () => Array.from({ length: n }, () => rng.next() * STAGGER_MS)).flat()
}

/** every member fetching every other's update */
function exchangePairs (n: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = []
  for (let to = 0; to < n; to++) for (let from = 0; from < n; from++) if (from !== to) pairs.push([from, to])
  return pairs
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
 * Times `reps` fan-outs of a `bytes` blob from member 0 to every other member of `net`, and `reps`
 * exchanges (every member fetching every other's), by kernel TCP and by the blob protocol,
 * interleaved; `model` is the network model's median fan-out time.
 */
export async function probeFanOut (net: HubNetwork, bytes: number, reps: number, model: number): Promise<ProbeResult> {
  const script = fileURLToPath(import.meta.url)
  const children: Child[] = []
  try {
    const members = net.members
    const info: Array<{ addr: string, blobAddr: string, cids: string[] }> = []
    for (const m of members) {
      const c = new Child(spawn('ip', ['netns', 'exec', m.ns, process.execPath, script, CHILD_ARG, m.addr, String(bytes)], { stdio: ['pipe', 'pipe', 'inherit'] }))
      children.push(c)
      const [, blobAddr, cids] = (await c.expect('ready ', 30_000)).split(' ')
      info.push({ addr: m.addr, blobAddr, cids: cids.split(',') })
    }
    for (let i = 0; i < children.length; i++) {
      children[i].send(`connect ${info.filter((_, j) => j !== i).map(x => `${x.addr}=${x.blobAddr}`).join('|')}`)
      await children[i].expect('connected', 30_000)
    }
    let used = 0
    /** every fetcher's transfers at once, after the links sat idle; each transfer's ms */
    /** `staggered`: every member fetches every other's, member j's from a moment drawn in [0, STAGGER_MS) */
    const once = async (kind: 'tcp' | 'blob', pattern: 'fan' | 'all' | 'staggered'): Promise<number[]> => {
      await new Promise(resolve => setTimeout(resolve, IDLE_MS))
      const blob = used++
      const fetchers = pattern === 'fan' ? children.slice(1).map(c => ({ c, from: [0] })) : children.map((c, k) => ({ c, from: children.map((_, j) => j).filter(j => j !== k) }))
      const off = children.map(() => pattern === 'staggered' ? Math.round(Math.random() * STAGGER_MS) : 0)
      for (const { c, from } of fetchers) {
        c.send(`${kind} ${from.map(j => info[j].addr).join(',')} ${from.map(j => info[j].cids[blob]).join(',')} ${from.map(j => off[j]).join(',')}`)
      }
      const lines = await Promise.all(fetchers.map(async ({ c }) => await c.expect(`${kind}-done `, 60_000)))
      return lines.flatMap(l => l.split(' ')[1].split(',').map(Number))
    }
    // one warm-up each: the first use of a connection (and of the code) is not a round's
    for (const kind of ['tcp', 'blob'] as const) for (const pattern of ['fan', 'all'] as const) await once(kind, pattern)
    const tcpMs: number[] = []
    const blobMs: number[] = []
    const exchange = { tcpFlowMs: [] as number[], blobFlowMs: [] as number[] }
    const stag = { tcpFlowMs: [] as number[] }
    for (let rep = 0; rep < reps; rep++) {
      tcpMs.push(Math.max(...await once('tcp', 'fan')))
      blobMs.push(Math.max(...await once('blob', 'fan')))
      exchange.tcpFlowMs.push(...await once('tcp', 'all'))
      exchange.blobFlowMs.push(...await once('blob', 'all'))
      stag.tcpFlowMs.push(...await once('tcp', 'staggered'))
    }
    return { modelMs: model, tcpMs, blobMs, exchange, staggered: stag }
  } finally {
    for (const c of children) c.proc.kill()
  }
}

// ---------------------------------------------------------------- the children

/** One member: serves its blobs over kernel TCP and the blob protocol, and fetches others' on command. */
async function child (addr: string, bytes: number): Promise<void> {
  const out = (s: string): void => { process.stdout.write(s + '\n') }
  const host = await createTapestryHost({ runId: 'link-probe', listen: [`/ip4/${addr}/tcp/0`] })
  const store = new MemoryBlobStore()
  await serveBlobs(host, { store })
  const blob = Buffer.from(randomBytes(bytes))
  const cids = Array.from({ length: 64 }, () => store.put(randomBytes(bytes)).toString())
  // a request byte is answered with the whole blob
  const server = createServer({ noDelay: true }, sock => {
    sock.on('data', d => { for (let i = 0; i < d.length; i++) sock.write(blob) })
    sock.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(TCP_PORT, addr, resolve))
  out(`ready ${host.multiaddrs()[0].toString()} ${cids.join(',')}`)
  /** per provider address: the kernel TCP connection, its byte count and the waiter for the current blob */
  const peers = new Map<string, { sock: Socket, peerId: string, got: number, done?: () => void }>()
  /** `what` of each provider, the i-th after `delays[i]` ms (at once without); one line with each one's ms from its own request, in the order asked */
  const fetchAll = (what: string, addrs: string[], delays: number[], fetchOne: (a: string, i: number) => Promise<void>): void => {
    Promise.all(addrs.map(async (a, i) => {
      if ((delays[i] ?? 0) > 0) await new Promise(resolve => setTimeout(resolve, delays[i]))
      const t0 = performance.now()
      await fetchOne(a, i)
      return performance.now() - t0
    })).then(ms => { out(`${what}-done ${ms.map(x => x.toFixed(1)).join(',')}`) }, err => { out(`error ${(err as Error).message}`) })
  }
  let input = ''
  process.stdin.on('data', (d: Buffer) => {
    input += d.toString()
    let i
    while ((i = input.indexOf('\n')) >= 0) {
      // `<tcp|blob> <provider addrs> <cids> <delays ms>` (each list comma-separated), `connect …`
      const [cmd, a = '', b = '', c = ''] = input.slice(0, i).split(' ')
      const delays = c === '' ? [] : c.split(',').map(Number)
      input = input.slice(i + 1)
      if (cmd === 'connect') {
        const targets = a.split('|').map(x => x.split('='))
        Promise.all(targets.map(async ([ip, ma]) => {
          const p = { sock: connect({ host: ip, port: TCP_PORT, noDelay: true }), peerId: ma.split('/p2p/')[1], got: 0, done: undefined as (() => void) | undefined }
          p.sock.on('data', d => { p.got += d.length; if (p.got >= bytes) { p.got -= bytes; p.done?.() } })
          p.sock.on('error', err => { out(`error ${err.message}`) })
          peers.set(ip, p)
          await new Promise(resolve => p.sock.once('connect', resolve))
          await host.dial(multiaddr(ma))
        })).then(() => { out('connected') }, err => { out(`error ${(err as Error).message}`) })
      } else if (cmd === 'tcp') {
        fetchAll('tcp', a.split(','), delays, async ip => {
          const p = peers.get(ip)!
          await new Promise<void>(resolve => { p.done = resolve; p.sock.write(REQUEST) })
        })
      } else if (cmd === 'blob') {
        const cidList = b.split(',')
        fetchAll('blob', a.split(','), delays, async (ip, k) => {
          await fetchBlob(host, cidList[k], [peers.get(ip)!.peerId], { maxBytes: bytes, timeoutMs: 60_000 })
        })
      }
    }
  })
  process.stdin.on('end', () => process.exit(0))
}

const childArg = process.argv.indexOf(CHILD_ARG)
if (childArg >= 0) await child(process.argv[childArg + 1], Number(process.argv[childArg + 2]))
