// `npm run bench -- net`: 64 MiB over /tapestry/blob/1.0.0 (TLS 1.3 + yamux, provider in another
// process) against raw TCP of the same bytes over the same path in the same run: on loopback, and
// over an emulated 40 ms RTT link. The link is two network namespaces joined by a kernel-path
// delay line (bench/net-link.ts), so TCP runs end to end with its real window and congestion
// control; where namespaces cannot be made (not root, no TUN, no C compiler) a userland delay
// proxy stands in, and the output says so.
import { fork, spawn } from 'node:child_process'
import { createServer, connect as tcpConnect } from 'node:net'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createTapestryHost, serveBlobs, fetchBlob, MemoryBlobStore } from '../src/net/index.js'
import { openNetnsLink } from './net-link.js'
import type { NetnsLink } from './net-link.js'
import type { TapestryHost, TapestryHostOptions } from '../src/net/index.js'
import type { ChildProcess } from 'node:child_process'
import type { Server, Socket } from 'node:net'

const MiB = 1024 * 1024
const SIZE = 64 * MiB
const REPS = 3
const ONE_WAY_DELAY_MS = 20
/** the bandwidth-limited row: 1 Gbit/s, below TLS's CPU ceiling here, so the RTT is what is measured */
const LINK_BYTES_PER_SECOND = 125_000_000
/** socket buffer ceiling of the "tuned host" rows (tcp_rmem / tcp_wmem max): covers 1.6 GB/s × 40 ms */
const TUNED_TCP_BUFFER = 64 * MiB
const ROLE_ARG = '--tapestry-net-bench-role='
/** yamux's own default max stream window, for the "what the tuning buys" row */
const YAMUX_DEFAULT_MAX_WINDOW = 16 * MiB
const TUNED_WINDOW = 64 * MiB
/** providers of the parallel-fetch row */
const PARALLEL_PROVIDERS = 3

interface ServerReady { tuned: string, stock: string, cid: string, rawPort: number, /** more providers of the same blob (tuned window) */ extra: string[] }
interface ProxyReady { ports: number[] }
/** one measurement asked of the requester process in the far namespace */
interface MeasureRequest { id: number, addr: string, cid: string, window: number, rawPort?: number, reps: number, /** fetch from these providers at once instead */ providers?: string[] }
interface MeasureReply { id: number, blobMBps: number, rawMBps?: number, error?: string }

/** Deterministic bytes without a 64 MiB JS loop: one random-looking MiB, repeated with a counter. */
function benchBytes (size: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = 0x9e3779b9
  for (let i = 0; i < Math.min(size, MiB); i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  for (let off = MiB; off < size; off += MiB) {
    out.set(out.subarray(0, Math.min(MiB, size - off)), off)
    out[off] = off / MiB // every MiB differs, so a misplaced chunk fails the hash
  }
  return out
}

/**
 * The largest receive window the kernel lets one TCP connection advertise: what raw TCP can keep
 * in flight on a real path, so it is also the most the delay proxy holds in flight per direction.
 */
function kernelMaxTcpWindow (): number {
  try {
    const max = Number(readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8').trim().split(/\s+/)[2])
    if (Number.isFinite(max) && max > 0) return max
  } catch {}
  return 6 * MiB
}

/** One direction of an emulated link: one-way delay and, optionally, a bandwidth in bytes/s. */
interface LinkSpec { delayMs: number, bytesPerSecond?: number }

/**
 * Fallback link, in userland: each chunk leaves `delayMs` after it arrived (after its
 * serialisation time, when a bandwidth is set), so RTT = 2 × delayMs. One FIFO queue and one
 * timer per direction keep the byte order. In flight per direction is capped at `windowBytes`.
 * It terminates TCP on both sides, so raw TCP through it never sees the RTT in its own window.
 */
function delayPipe (src: Socket, dst: Socket, link: LinkSpec, windowBytes: number): void {
  const queue: Array<{ at: number, chunk: Buffer }> = []
  let inFlight = 0
  let dstBlocked = false
  let ended = false
  let linkFreeAt = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const maybeResume = (): void => { if (inFlight < windowBytes && !dstBlocked && src.isPaused()) src.resume() }
  const pump = (): void => {
    timer = undefined
    const now = performance.now()
    while (queue.length > 0 && queue[0].at <= now) {
      const { chunk } = queue.shift() as { at: number, chunk: Buffer }
      inFlight -= chunk.byteLength
      if (!dst.destroyed && !dst.write(chunk)) dstBlocked = true
    }
    if (queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0].at - now))
    else if (ended) dst.end()
    maybeResume()
  }
  src.on('data', (chunk: Buffer) => {
    const now = performance.now()
    const serialise = link.bytesPerSecond == null ? 0 : 1000 * chunk.byteLength / link.bytesPerSecond
    linkFreeAt = Math.max(now, linkFreeAt) + serialise
    queue.push({ at: linkFreeAt + link.delayMs, chunk })
    inFlight += chunk.byteLength
    if (inFlight >= windowBytes) src.pause()
    if (timer === undefined) timer = setTimeout(pump, Math.max(0, queue[0].at - now))
  })
  dst.on('drain', () => { dstBlocked = false; maybeResume() })
  src.on('end', () => { ended = true; if (timer === undefined) pump() })
  // a clean close travels as 'end' above; destroying on close could cut bytes still queued
  src.on('error', () => setTimeout(() => dst.destroy(), link.delayMs))
}

async function startDelayProxy (targetPort: number, link: LinkSpec, windowBytes: number): Promise<Server> {
  const server = createServer({ noDelay: true }, client => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort, noDelay: true })
    delayPipe(client, upstream, link, windowBytes)
    delayPipe(upstream, client, link, windowBytes)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return server
}

function portOf (server: Server): number {
  const a = server.address()
  if (a == null || typeof a === 'string') throw new Error('server has no port')
  return a.port
}

function hostOptions (maxWindow: number, listenIp = '127.0.0.1'): TapestryHostOptions {
  return { runId: 'bench-net', listen: [`/ip4/${listenIp}/tcp/0`], yamux: { maxStreamWindowSize: maxWindow } }
}

/**
 * Child process: two blob servers (tuned and stock yamux window) and a raw TCP sender, all on
 * `listenIp`. Raw TCP: every request byte on a connection is answered with the whole buffer, under
 * the socket's own backpressure, so a warm connection is measured as the blob one is.
 */
async function serverRole (listenIp: string): Promise<void> {
  const data = benchBytes(SIZE)
  const store = new MemoryBlobStore()
  const cid = store.put(data)
  const tuned = await createTapestryHost(hostOptions(TUNED_WINDOW, listenIp))
  const stock = await createTapestryHost(hostOptions(YAMUX_DEFAULT_MAX_WINDOW, listenIp))
  await serveBlobs(tuned, { store })
  await serveBlobs(stock, { store })
  const extra = await Promise.all(Array.from({ length: PARALLEL_PROVIDERS - 1 }, async () => {
    const h = await createTapestryHost(hostOptions(TUNED_WINDOW, listenIp))
    await serveBlobs(h, { store })
    return h
  }))
  const raw = createServer({ noDelay: true }, sock => {
    let pending = 0
    let sending = false
    const pump = (): void => {
      sending = true
      let off = 0
      const more = (): void => {
        while (off < data.byteLength) {
          const chunk = data.subarray(off, off + 256 * 1024)
          off += chunk.byteLength
          if (!sock.write(chunk)) { sock.once('drain', more); return }
        }
        sending = false
        if (--pending > 0) pump()
      }
      more()
    }
    sock.on('data', (req: Buffer) => {
      pending += req.byteLength
      if (!sending) pump()
    })
    sock.on('error', () => {})
  })
  await new Promise<void>(resolve => raw.listen(0, listenIp, resolve))
  const ready: ServerReady = { tuned: tuned.multiaddrs()[0], stock: stock.multiaddrs()[0], cid: cid.toString(), rawPort: portOf(raw), extra: extra.map(h => h.multiaddrs()[0]) }
  process.send?.(ready)
  process.on('disconnect', () => { void Promise.all([tuned, stock, ...extra].map(async h => { await h.stop() })).finally(() => process.exit(0)) })
}

/** Child process: delay proxies in front of the given ports (own event loop, so timers stay on time). */
async function proxyRole (targets: Array<{ port: number, link: LinkSpec }>): Promise<void> {
  const servers = await Promise.all(targets.map(async t => await startDelayProxy(t.port, t.link, kernelMaxTcpWindow())))
  const ready: ProxyReady = { ports: servers.map(portOf) }
  process.send?.(ready)
  process.on('disconnect', () => process.exit(0))
}

/** Child process in the requester's namespace: runs the measurements the parent asks for. */
async function clientRole (): Promise<void> {
  process.on('message', (m: MeasureRequest) => {
    void (async () => {
      try {
        const blobMBps = m.providers != null ? await measureParallel(m.providers, m.reps, m.cid) : await measureBlob(m.addr, m.window, m.reps, m.addr, m.cid)
        const rawMBps = m.rawPort == null ? undefined : await measureRaw(hostOf(m.addr), m.rawPort, m.reps)
        process.send?.({ id: m.id, blobMBps, rawMBps } satisfies MeasureReply)
      } catch (err) {
        process.send?.({ id: m.id, blobMBps: 0, error: String(err) } satisfies MeasureReply)
      }
    })()
  })
  process.on('disconnect', () => process.exit(0))
  process.send?.('ready')
}

/**
 * Start a bench role in a child process: forked, or through `prefix` (e.g. `ip netns exec NS`),
 * which keeps the IPC channel since it execs in place.
 */
async function spawnRole<T> (role: string, args: string[] = [], prefix: string[] = []): Promise<{ child: ChildProcess, ready: T }> {
  const self = fileURLToPath(import.meta.url)
  const roleArgs = [`${ROLE_ARG}${role}`, ...args]
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc']
  const child = prefix.length === 0
    ? fork(self, roleArgs, { stdio })
    : spawn(prefix[0], [...prefix.slice(1), process.execPath, ...process.execArgv, self, ...roleArgs], { stdio })
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('message', m => resolve(m as T))
    child.once('exit', code => reject(new Error(`bench ${role} process exited with ${String(code)}`)))
  })
  return { child, ready }
}

function hostOf (addr: string): string {
  return /\/ip4\/([^/]+)\//.exec(addr)?.[1] ?? '127.0.0.1'
}

/** One connection, `reps` + 1 transfers of SIZE bytes (the first warms it up), best rate in MB/s. */
async function measureRaw (host: string, port: number, reps: number): Promise<number> {
  const sock = tcpConnect({ host, port, noDelay: true })
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  const buf = new Uint8Array(SIZE)
  let n = 0
  let done: (() => void) | undefined
  sock.on('data', (c: Buffer) => {
    // the same copy the blob client makes into its buffer
    buf.set(c.subarray(0, Math.min(c.byteLength, SIZE - n)), n)
    n += c.byteLength
    if (n >= SIZE) done?.()
  })
  const failed = new Promise<never>((resolve, reject) => { sock.once('error', reject); sock.once('close', () => reject(new Error('raw TCP closed'))) })
  failed.catch(() => {})
  try {
    return await best(reps, async () => {
      n = 0
      const t0 = performance.now()
      const got = new Promise<void>(resolve => { done = resolve })
      sock.write(new Uint8Array([1]))
      await Promise.race([got, failed])
      if (n !== SIZE) throw new Error(`raw TCP got ${n} of ${SIZE} bytes`)
      return SIZE / 1e6 / ((performance.now() - t0) / 1000)
    }, 1)
  } finally {
    sock.destroy()
  }
}

/** A fresh connection per transfer (connect, request, SIZE bytes, close), best rate in MB/s. */
async function measureRawFresh (host: string, port: number, reps: number): Promise<number> {
  return await best(reps, async () => {
    const sock = tcpConnect({ host, port, noDelay: true })
    const buf = new Uint8Array(SIZE)
    let n = 0
    try {
      const t0 = performance.now()
      await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
      sock.write(new Uint8Array([1]))
      await new Promise<void>((resolve, reject) => {
        sock.on('data', (c: Buffer) => {
          buf.set(c.subarray(0, Math.min(c.byteLength, SIZE - n)), n)
          n += c.byteLength
          if (n >= SIZE) resolve()
        })
        sock.once('error', reject)
        sock.once('close', () => reject(new Error(`raw TCP closed after ${n} bytes`)))
      })
      return SIZE / 1e6 / ((performance.now() - t0) / 1000)
    } finally {
      sock.destroy()
    }
  }, 1)
}

/** One fetch of the bench blob from `providers` (`parallel` of them at once), in MB/s. */
async function blobOnce (client: TapestryHost, cid: string, providers: string[], parallel = 1): Promise<number> {
  const t0 = performance.now()
  const got = await fetchBlob(client, cid, providers, { maxBytes: SIZE, timeoutMs: 120_000, parallel })
  const ms = performance.now() - t0
  if (got.byteLength !== SIZE) throw new Error('short blob')
  return SIZE / 1e6 / (ms / 1000)
}

let benchCid = ''

/** A fresh requester connected to every provider; `reps` + 1 parallel fetches (the first warms up), best rate. */
async function measureParallel (providers: string[], reps: number, cid = benchCid): Promise<number> {
  const host = await createTapestryHost(hostOptions(TUNED_WINDOW))
  try {
    for (const a of providers) await host.dial(a)
    const peers = providers.map(a => a.split('/p2p/')[1])
    return await best(reps, async () => await blobOnce(host, cid, peers, peers.length), 1)
  } finally {
    await host.stop()
  }
}

/**
 * A fresh requester host (libp2p would otherwise reuse an earlier connection), one connection,
 * `reps` + 1 fetches (the first warms it up), best rate in MB/s.
 */
async function measureBlob (addr: string, window: number, reps: number, dialAddr = addr, cid = benchCid): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const c = await clientFor(addr, window, dialAddr)
    try {
      return await best(reps, async () => await blobOnce(c.host, cid, [c.peer]), 1)
    } catch (err) {
      // seen rarely on a fresh connection: the first blob stream is closed during protocol
      // negotiation (ERR_NET_DIAL_FAILED, "stream closed while reading"); one retry on a new connection
      if (attempt >= 2) throw err
      process.stderr.write(`bench net: blob fetch failed, retrying on a new connection: ${String(err).slice(0, 300)}\n`)
    } finally {
      await c.host.stop()
    }
  }
}

/** Best of `reps` after `warmup` discarded runs: on a shared 2-core box the best run is the one least disturbed by neighbours. */
async function best (reps: number, run: () => Promise<number>, warmup = 0): Promise<number> {
  for (let i = 0; i < warmup; i++) await run()
  let top = 0
  for (let i = 0; i < reps; i++) top = Math.max(top, await run())
  return top
}

async function clientFor (addr: string, maxWindow: number, dialAddr = addr): Promise<{ host: TapestryHost, peer: string }> {
  const host = await createTapestryHost(hostOptions(maxWindow))
  const peer = addr.split('/p2p/')[1]
  await host.dial(dialAddr)
  const conn = host.libp2p.getConnections()[0]
  if (conn?.encryption !== '/tls/1.0.0') throw new Error(`expected TLS, got ${String(conn?.encryption)}`)
  return { host, peer }
}

function viaPort (addr: string, port: number): string {
  return addr.replace(/\/tcp\/\d+\//, `/tcp/${port}/`)
}

interface FarRows {
  method: 'netns' | 'proxy'
  note: string
  /** 40 ms RTT with the host's TCP buffer ceilings (namespaces inherit them) */
  base: { blob: number, raw: number }
  /** 40 ms RTT, host buffers, the blob from PARALLEL_PROVIDERS providers at once (netns only) */
  parallelBlob?: number
  /** 40 ms RTT with 64 MiB TCP buffer ceilings (netns only) */
  tuned?: { blob: number, raw: number }
  /** the stock 16 MiB yamux window at 40 ms RTT (tuned buffers where there are) */
  stockBlob: number
  gbit: { blob: number, raw: number }
  tcpWmem?: string
  tcpRmem?: string
  delayLineCpuSeconds?: number
}

/** The 40 ms rows over two namespaces and the kernel-path delay line. */
async function farRowsNetns (link: NetnsLink, reps: number): Promise<FarRows> {
  const tcpWmem = link.readSysctl('net.ipv4.tcp_wmem')
  const tcpRmem = link.readSysctl('net.ipv4.tcp_rmem')
  const server = await spawnRole<ServerReady>('server', [link.addrA], link.execIn(link.nsA))
  const client = await spawnRole<string>('client', [], link.execIn(link.nsB))
  const s = server.ready
  let nextId = 0
  const measure = async (addr: string, window: number, withRaw: boolean, providers?: string[]): Promise<MeasureReply> => {
    const id = nextId++
    const reply = new Promise<MeasureReply>((resolve, reject) => {
      const onMessage = (m: MeasureReply): void => { if (m.id === id) { client.child.off('message', onMessage); resolve(m) } }
      client.child.on('message', onMessage)
      client.child.once('exit', code => reject(new Error(`bench client exited with ${String(code)}`)))
    })
    client.child.send({ id, addr, cid: s.cid, window, rawPort: withRaw ? s.rawPort : undefined, reps, providers } satisfies MeasureRequest)
    const r = await reply
    if (r.error != null) throw new Error(r.error)
    return r
  }
  try {
    const base = await measure(s.tuned, TUNED_WINDOW, true)
    const parallel = await measure(s.tuned, TUNED_WINDOW, false, [s.tuned, ...s.extra])
    link.sysctl('net.ipv4.tcp_wmem', `4096 16384 ${TUNED_TCP_BUFFER}`)
    link.sysctl('net.ipv4.tcp_rmem', `4096 131072 ${TUNED_TCP_BUFFER}`)
    const tuned = await measure(s.tuned, TUNED_WINDOW, true)
    const stock = await measure(s.stock, YAMUX_DEFAULT_MAX_WINDOW, false)
    await link.reshape({ delayMs: ONE_WAY_DELAY_MS, bytesPerSecond: LINK_BYTES_PER_SECOND, queueBytes: 8 * MiB })
    const gbit = await measure(s.tuned, TUNED_WINDOW, true)
    return {
      method: 'netns',
      note: `two network namespaces, kernel-path delay line ${ONE_WAY_DELAY_MS} ms each way (TUN + GSO, MTU 1500); TCP end to end`,
      base: { blob: base.blobMBps, raw: base.rawMBps ?? 0 },
      parallelBlob: parallel.blobMBps,
      tuned: { blob: tuned.blobMBps, raw: tuned.rawMBps ?? 0 },
      stockBlob: stock.blobMBps,
      gbit: { blob: gbit.blobMBps, raw: gbit.rawMBps ?? 0 },
      tcpWmem,
      tcpRmem,
      delayLineCpuSeconds: link.cpuSeconds()
    }
  } finally {
    client.child.disconnect()
    server.child.disconnect()
    await Promise.all([server.child, client.child].map(async c => {
      if (c.exitCode == null) await new Promise(resolve => { c.once('exit', resolve); setTimeout(resolve, 5000) })
    }))
  }
}

/** The 40 ms rows through the userland delay proxy (fallback). */
async function farRowsProxy (s: ServerReady, reps: number, why: string): Promise<FarRows> {
  const portIn = (addr: string): number => Number(/\/tcp\/(\d+)\//.exec(addr)?.[1])
  const far: LinkSpec = { delayMs: ONE_WAY_DELAY_MS }
  const gbit: LinkSpec = { delayMs: ONE_WAY_DELAY_MS, bytesPerSecond: LINK_BYTES_PER_SECOND }
  const targets = [
    { port: portIn(s.tuned), link: far }, { port: s.rawPort, link: far }, { port: portIn(s.stock), link: far },
    { port: portIn(s.tuned), link: gbit }, { port: s.rawPort, link: gbit }
  ]
  const proxy = await spawnRole<ProxyReady>('proxy', [JSON.stringify(targets)])
  const [pTuned, pRaw, pStock, pTunedGbit, pRawGbit] = proxy.ready.ports
  try {
    const base = { blob: await measureBlob(s.tuned, TUNED_WINDOW, reps, viaPort(s.tuned, pTuned)), raw: await measureRaw('127.0.0.1', pRaw, reps) }
    const stockBlob = await measureBlob(s.stock, YAMUX_DEFAULT_MAX_WINDOW, reps, viaPort(s.stock, pStock))
    const g = { blob: await measureBlob(s.tuned, TUNED_WINDOW, reps, viaPort(s.tuned, pTunedGbit)), raw: await measureRaw('127.0.0.1', pRawGbit, reps) }
    return {
      method: 'proxy',
      note: `USERLAND DELAY PROXY (network namespaces unavailable: ${why}); ${ONE_WAY_DELAY_MS} ms each way, in-flight cap ${(kernelMaxTcpWindow() / MiB).toFixed(0)} MiB; it terminates TCP, so raw TCP never sees the RTT in its window`,
      base,
      stockBlob,
      gbit: g
    }
  } finally {
    proxy.child.disconnect()
  }
}

export async function benchNet (opts: { json: boolean, reps?: number }): Promise<object> {
  const reps = opts.reps ?? REPS
  const say = (s: string): void => { if (!opts.json) process.stdout.write(s + '\n') }
  const server = await spawnRole<ServerReady>('server', ['127.0.0.1'])
  const s = server.ready
  benchCid = s.cid
  let link: NetnsLink | undefined
  try {
    const blobMBps = await measureBlob(s.tuned, TUNED_WINDOW, reps)
    // the reference the loopback target was set against: a fresh connection per transfer
    const rawMBps = await measureRawFresh('127.0.0.1', s.rawPort, reps)
    // like for like: the blob rows reuse a warm connection too
    const rawWarmMBps = await measureRaw('127.0.0.1', s.rawPort, reps)
    let far: FarRows
    let why = ''
    try {
      link = await openNetnsLink({ delayMs: ONE_WAY_DELAY_MS })
    } catch (err) {
      why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    }
    if (link != null) {
      far = await farRowsNetns(link, reps)
    } else {
      far = await farRowsProxy(s, reps, why)
    }

    const f = (x: number): string => x.toFixed(0).padStart(5)
    const row = (name: string, blob: number, raw: number, target: string): void =>
      say(`  ${name.padEnd(42)} blob ${f(blob)} MB/s   raw TCP ${f(raw)} MB/s   ratio ${(blob / raw).toFixed(2)}×${target}`)
    say(`net: ${SIZE / MiB} MiB over /tapestry/blob/1.0.0 (TLS 1.3 + yamux, provider in another process) vs raw TCP of the same bytes over the same path; blob on a warm connection, best of ${reps} after one warm-up; 40 ms rows: raw on a warm connection`)
    row('loopback, raw on fresh connections', blobMBps, rawMBps, ' (target ≥ 0.35×)')
    row('loopback, raw on a warm connection', blobMBps, rawWarmMBps, '')
    const wmemMax = far.tcpWmem?.split(' ')[2]
    const baseName = far.method === 'netns' ? `40 ms RTT, host TCP buffers${wmemMax == null ? '' : ` (wmem ≤ ${(Number(wmemMax) / MiB).toFixed(0)} MiB)`}` : '40 ms RTT (proxy)'
    row(baseName, far.base.blob, far.base.raw, ' (target ≥ 0.80×)')
    if (far.parallelBlob != null) row(`  same, blob from ${PARALLEL_PROVIDERS} providers at once`, far.parallelBlob, far.base.raw, ` = ${(far.parallelBlob / far.base.blob).toFixed(2)}× one provider (each connection has its own window)`)
    if (far.tuned != null) row(`40 ms RTT, TCP buffers ${TUNED_TCP_BUFFER / MiB} MiB`, far.tuned.blob, far.tuned.raw, '')
    row(`40 ms RTT, 1 Gbit/s${far.method === 'netns' ? `, ${TUNED_TCP_BUFFER / MiB} MiB buffers` : ''}`, far.gbit.blob, far.gbit.raw, '')
    const ref = far.tuned ?? far.base
    say(`  40 ms RTT: yamux stock 16 MiB window ${f(far.stockBlob)} MB/s → 64 MiB window ${f(ref.blob)} MB/s = ${(ref.blob / far.stockBlob).toFixed(2)}×; blob keeps ${(100 * ref.blob / blobMBps).toFixed(0)}% of its loopback rate`)
    say(`  (${far.note}${far.delayLineCpuSeconds == null ? '' : `; delay line used ${far.delayLineCpuSeconds.toFixed(1)} CPU s`})`)
    return {
      bench: 'net',
      bytes: SIZE,
      reps,
      encryption: '/tls/1.0.0',
      blobMBps,
      rawMBps,
      ratioVsRaw: blobMBps / rawMBps,
      rawWarmMBps,
      ratioVsRawWarm: blobMBps / rawWarmMBps,
      blobMBpsAt40msRtt: far.base.blob,
      rawMBpsAt40msRtt: far.base.raw,
      ratioVsRawAt40msRtt: far.base.blob / far.base.raw,
      blobAt40msRttVsLoopback: far.base.blob / blobMBps,
      parallelProviders: far.parallelBlob == null ? undefined : PARALLEL_PROVIDERS,
      parallelBlobMBpsAt40msRtt: far.parallelBlob,
      parallelVsOneProviderAt40msRtt: far.parallelBlob == null ? undefined : far.parallelBlob / far.base.blob,
      blobMBpsAt40msRttTunedBuffers: far.tuned?.blob,
      rawMBpsAt40msRttTunedBuffers: far.tuned?.raw,
      ratioVsRawAt40msRttTunedBuffers: far.tuned == null ? undefined : far.tuned.blob / far.tuned.raw,
      stockWindowBlobMBpsAt40msRtt: far.stockBlob,
      ratioTunedVsStockWindowAt40msRtt: ref.blob / far.stockBlob,
      blobMBpsAt40msRtt1Gbit: far.gbit.blob,
      rawMBpsAt40msRtt1Gbit: far.gbit.raw,
      ratioVsRawAt40msRtt1Gbit: far.gbit.blob / far.gbit.raw,
      link: {
        method: far.method,
        note: far.note,
        oneWayDelayMs: ONE_WAY_DELAY_MS,
        limitedLinkBytesPerSecond: LINK_BYTES_PER_SECOND,
        hostTcpWmem: far.tcpWmem,
        hostTcpRmem: far.tcpRmem,
        tunedTcpBufferBytes: far.tuned == null ? undefined : TUNED_TCP_BUFFER,
        delayLineCpuSeconds: far.delayLineCpuSeconds
      },
      targets: { ratioVsRaw: 0.35, ratioVsRawAt40msRtt: 0.8 }
    }
  } finally {
    await link?.close()
    server.child.disconnect()
  }
}

const role = process.argv.find(a => a.startsWith(ROLE_ARG))?.slice(ROLE_ARG.length)
const roleArgs = process.argv.slice(process.argv.findIndex(a => a.startsWith(ROLE_ARG)) + 1)
if (role === 'server') await serverRole(roleArgs[0] ?? '127.0.0.1')
else if (role === 'proxy') await proxyRole(JSON.parse(roleArgs[0]))
else if (role === 'client') await clientRole()
else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // run directly: node dist/bench/net.js [--json]
  const json = process.argv.includes('--json')
  const r = await benchNet({ json })
  if (json) process.stdout.write(JSON.stringify(r) + '\n')
}
