// `npm run bench -- net`: 64 MiB over each transport a Tapestry host can use — /tapestry/blob/1.0.0
// over TCP + TLS 1.3 + yamux, TCP + Noise + yamux and QUIC v1, provider in another process — against
// raw TCP of the same bytes over the same path, measured in the same run and interleaved (round-robin
// over the transports, several rounds), with Node's own TLS on a TCP socket as the ceiling of any
// encrypted transport hosted in Node, and AES-256-GCM hand-framed on Node's crypto (bench/net-aes.ts)
// with the cipher's in-memory rate, from which an estimate of any encryption in one Node process
// per side follows. On loopback, and over an emulated 40 ms RTT link: two network namespaces joined by a kernel-path delay line (bench/net-link.ts), so TCP and QUIC run end to end
// with their real windows and congestion control; where namespaces cannot be made (not root, no
// TUN, no C compiler) a userland TCP delay proxy stands in (no QUIC then), and the output says so.
import { execFileSync, fork, spawn } from 'node:child_process'
import { createServer, connect as tcpConnect } from 'node:net'
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BulkClient, BulkServer, createTapestryHost, serveBlobs, fetchBlob, MemoryBlobStore } from '../src/net/index.js'
import { openNetnsLink } from './net-link.js'
import { AesRecordReader, aesInMemoryMBps, serveAesRecords } from './net-aes.js'
import { answerRequests } from './net-serve.js'
import { spread } from './stats.js'
import type { NetnsLink } from './net-link.js'
import type { TapestryHost, TapestryHostOptions } from '../src/net/index.js'
import type { ChildProcess } from 'node:child_process'
import type { Server, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

const MiB = 1024 * 1024
const SIZE = 64 * MiB
/** rounds over all transports (each transport measured once per round, after one warm-up) */
const REPS = 5
/** rounds of the 64 MiB-buffer 40 ms rows (yamux window) */
const TUNED_REPS = 3
const ONE_WAY_DELAY_MS = 20
/** socket buffer ceiling of the "tuned host" rows (tcp_rmem / tcp_wmem max): covers 1.6 GB/s × 40 ms */
const TUNED_TCP_BUFFER = 64 * MiB
const ROLE_ARG = '--tapestry-net-bench-role='
/** yamux's own default max stream window, for the "what the tuning buys" row */
const YAMUX_DEFAULT_MAX_WINDOW = 16 * MiB
const TUNED_WINDOW = 64 * MiB
/** the target: an encrypted transport at this fraction of raw TCP on loopback */
const TARGET_RATIO = 0.8

const RAW = 'raw-tcp'
const TLS_YAMUX = 'tcp+tls+yamux'
const NOISE_YAMUX = 'tcp+noise+yamux'
const QUIC = 'quic'
const NODE_TLS = 'node-tls-socket'
/** the blob protocol with bulk transfer (blob.md §7): request over tcp+tls+yamux, bytes over TLS-PSK */
const BULK = 'blob+bulk-tls-psk'
const AES_RECORDS = 'node-aes-gcm-1mib'
/** not a transport: the cipher alone, in memory, in the requester's process */
const CIPHER = 'aes-gcm-in-memory'
const STOCK_WINDOW = 'tcp+tls+yamux, 16 MiB window'
/** the encrypted libp2p transports, one of which a host adopts */
const LIBP2P_TRANSPORTS = [TLS_YAMUX, NOISE_YAMUX, QUIC]
/** what a Tapestry daemon moves blobs with (default settings): the adopted path */
const TAPESTRY_PATHS = [...LIBP2P_TRANSPORTS, BULK]

interface ServerReady {
  cid: string
  /** the provider's TCP address (TLS and Noise offered) */
  tcp: string
  /** the same provider's QUIC v1 address, where QUIC loaded */
  quic?: string
  quicWhy?: string
  /** a provider with yamux's stock 16 MiB window (TCP, TLS) */
  stock: string
  rawPort: number
  /** Node TLS server of the same bytes, where a certificate could be made */
  tlsPort?: number
  tlsWhy?: string
  /** AES-256-GCM records of the same bytes on a bare socket */
  aesPort: number
}
interface ProxyReady { ports: number[] }

/** One subject of a measurement session, as data (it crosses to the requester process). */
type SubjectSpec =
  | { name: string, kind: 'bytes', host: string, port: number, tls: boolean }
  | { name: string, kind: 'blob', addr: string, transport: 'tcp' | 'quic', encryption?: 'tls' | 'noise', window: number, bulk?: boolean }
  | { name: string, kind: 'aes', host: string, port: number }
  | { name: string, kind: 'cipher' }

interface SessionRequest { id: number, cid: string, reps: number, subjects: SubjectSpec[] }
/** MB/s per round, and what the connection really was, per subject */
type SessionResult = Record<string, { rates: number[], connection: string }>
interface SessionReply { id: number, result?: SessionResult, error?: string }

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

/** One direction of an emulated link: one-way delay, optionally a bandwidth in bytes/s. */
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

function hostOptions (maxWindow: number, listen: string[], encryption?: Array<'tls' | 'noise'>): TapestryHostOptions {
  return { runId: 'bench-net', listen, encryption, yamux: { maxStreamWindowSize: maxWindow } }
}

/** Every request byte is answered with the whole buffer in 256 KiB writes: raw TCP and Node TLS alike. */
function serveBytes (sock: Socket | TLSSocket, data: Uint8Array): void {
  answerRequests(sock, function * () {
    for (let off = 0; off < data.byteLength; off += 256 * 1024) yield [data.subarray(off, off + 256 * 1024)]
  })
}

/** A throwaway self-signed P-256 certificate from the openssl binary, or why there is none. */
function selfSignedCert (): { key: string, cert: string } | { why: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tapestry-bench-tls-'))
  try {
    const key = join(dir, 'key.pem')
    const cert = join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=tapestry-bench', '-days', '1', '-keyout', key, '-out', cert], { stdio: ['ignore', 'pipe', 'pipe'] })
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') }
  } catch (err) {
    return { why: `no certificate from openssl: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}` }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Child process: the provider. One blob host on TCP (TLS and Noise offered) and QUIC, one with
 * yamux's stock window, a raw TCP sender and a Node TLS sender of the same bytes, all on `listenIp`.
 */
async function serverRole (listenIp: string): Promise<void> {
  const data = benchBytes(SIZE)
  const store = new MemoryBlobStore()
  const cid = store.put(data)
  const tcpAddr = `/ip4/${listenIp}/tcp/0`
  let quicWhy: string | undefined
  let main: TapestryHost
  try {
    main = await createTapestryHost(hostOptions(TUNED_WINDOW, [tcpAddr, `/ip4/${listenIp}/udp/0/quic-v1`]))
  } catch (err) {
    quicWhy = err instanceof Error ? err.message.split('\n')[0] : String(err)
    main = await createTapestryHost(hostOptions(TUNED_WINDOW, [tcpAddr]))
  }
  const stock = await createTapestryHost(hostOptions(YAMUX_DEFAULT_MAX_WINDOW, [tcpAddr], ['tls']))
  // the main provider offers bulk transfers; a requester gets them only when it asks (the BULK subject)
  const bulk = await BulkServer.listen({ listenIp })
  await serveBlobs(main, { store, bulk: { server: bulk } })
  await serveBlobs(stock, { store })
  const raw = createServer({ noDelay: true }, sock => serveBytes(sock, data))
  await new Promise<void>(resolve => raw.listen(0, listenIp, resolve))
  const pem = selfSignedCert()
  let tlsPort: number | undefined
  if ('cert' in pem) {
    const tls = createTlsServer({ key: pem.key, cert: pem.cert, minVersion: 'TLSv1.3', noDelay: true }, sock => serveBytes(sock, data))
    await new Promise<void>(resolve => tls.listen(0, listenIp, resolve))
    tlsPort = portOf(tls)
  }
  const aes = createServer({ noDelay: true }, sock => serveAesRecords(sock, data))
  await new Promise<void>(resolve => aes.listen(0, listenIp, resolve))
  const addrs = main.multiaddrs()
  const ready: ServerReady = {
    cid: cid.toString(),
    tcp: addrs.find(a => a.includes('/tcp/')) ?? '',
    quic: addrs.find(a => a.includes('/quic-v1/')),
    quicWhy,
    stock: stock.multiaddrs()[0],
    rawPort: portOf(raw),
    tlsPort,
    tlsWhy: 'why' in pem ? pem.why : undefined,
    aesPort: portOf(aes)
  }
  process.send?.(ready)
  process.on('disconnect', () => { void Promise.all([main, stock].map(async h => { await h.stop() })).finally(() => process.exit(0)) })
}

/** Child process: delay proxies in front of the given ports (own event loop, so timers stay on time). */
async function proxyRole (targets: Array<{ port: number, link: LinkSpec }>): Promise<void> {
  const servers = await Promise.all(targets.map(async t => await startDelayProxy(t.port, t.link, kernelMaxTcpWindow())))
  const ready: ProxyReady = { ports: servers.map(portOf) }
  process.send?.(ready)
  process.on('disconnect', () => process.exit(0))
}

/** Child process in the requester's namespace: runs the sessions the parent asks for. */
async function clientRole (): Promise<void> {
  process.on('message', (m: SessionRequest) => {
    void (async () => {
      try {
        process.send?.({ id: m.id, result: await runSession(m) } satisfies SessionReply)
      } catch (err) {
        process.send?.({ id: m.id, error: String(err) } satisfies SessionReply)
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

/** A subject with a warm connection: `once` moves SIZE bytes over it and returns MB/s. */
interface Subject { name: string, once: () => Promise<number>, connection: string, close: () => Promise<void> }

/** Raw TCP, or Node TLS on TCP: one warm socket; each transfer asks with one byte for SIZE bytes. */
async function openBytes (spec: SubjectSpec & { kind: 'bytes' }): Promise<Subject> {
  const sock: Socket | TLSSocket = spec.tls
    // a throwaway certificate: the bench measures the cipher, not the trust chain
    ? tlsConnect({ host: spec.host, port: spec.port, rejectUnauthorized: false, minVersion: 'TLSv1.3' }).setNoDelay(true)
    : tcpConnect({ host: spec.host, port: spec.port, noDelay: true })
  await new Promise<void>((resolve, reject) => { sock.once(spec.tls ? 'secureConnect' : 'connect', resolve); sock.once('error', reject) })
  let connection = 'tcp'
  if ('getCipher' in sock) {
    const c = sock.getCipher()
    connection = `tcp ${String(sock.getProtocol())} ${c.standardName}`
  }
  const buf = new Uint8Array(SIZE)
  let n = 0
  let done: (() => void) | undefined
  sock.on('data', (c: Buffer) => {
    // the same copy the blob client makes into its buffer
    buf.set(c.subarray(0, Math.min(c.byteLength, SIZE - n)), n)
    n += c.byteLength
    if (n >= SIZE) done?.()
  })
  const failed = new Promise<never>((resolve, reject) => { sock.once('error', reject); sock.once('close', () => reject(new Error(`${spec.name} closed`))) })
  failed.catch(() => {})
  return {
    name: spec.name,
    connection,
    once: async () => {
      n = 0
      const t0 = performance.now()
      const got = new Promise<void>(resolve => { done = resolve })
      sock.write(new Uint8Array([1]))
      await Promise.race([got, failed])
      if (n !== SIZE) throw new Error(`${spec.name} got ${n} of ${SIZE} bytes`)
      return SIZE / 1e6 / ((performance.now() - t0) / 1000)
    },
    close: async () => { sock.destroy() }
  }
}

/** AES-256-GCM records on a warm bare socket: each transfer asks with one byte, decrypts as it reads. */
async function openAes (spec: SubjectSpec & { kind: 'aes' }): Promise<Subject> {
  const sock = tcpConnect({ host: spec.host, port: spec.port, noDelay: true })
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  const reader = new AesRecordReader(new Uint8Array(SIZE))
  const failed = new Promise<never>((resolve, reject) => { sock.once('error', reject); sock.once('close', () => reject(new Error(`${spec.name} closed`))) })
  failed.catch(() => {})
  let broken: Error | undefined
  sock.on('data', (c: Buffer) => {
    try { reader.push(c) } catch (err) { broken = err as Error; sock.destroy(broken) }
  })
  return {
    name: spec.name,
    connection: 'tcp, AES-256-GCM records of 1 MiB (fixed bench key, no handshake)',
    once: async () => {
      const t0 = performance.now()
      const got = new Promise<void>(resolve => { reader.start(resolve) })
      sock.write(new Uint8Array([1]))
      await Promise.race([got, failed])
      if (broken != null || reader.received !== SIZE) throw new Error(`${spec.name} got ${reader.received} of ${SIZE} bytes${broken != null ? `: ${broken.message}` : ''}`)
      return SIZE / 1e6 / ((performance.now() - t0) / 1000)
    },
    close: async () => { sock.destroy() }
  }
}

/** The cipher alone, in memory on the requester's thread: what one core encrypts per second. */
function openCipher (spec: SubjectSpec & { kind: 'cipher' }): Subject {
  const data = benchBytes(SIZE)
  return { name: spec.name, connection: 'none (in memory)', once: async () => aesInMemoryMBps(data), close: async () => {} }
}

/** Open one subject of a session. */
async function openSubject (spec: SubjectSpec, cid: string): Promise<Subject> {
  switch (spec.kind) {
    case 'bytes': return await openBytes(spec)
    case 'blob': return await openBlob(spec, cid)
    case 'aes': return await openAes(spec)
    case 'cipher': return openCipher(spec)
  }
}

/**
 * A blob subject: a requester host of its own (no listen address, so nothing dials back) on one
 * connection to the provider, dialled at the transport's exact address; the connection is checked
 * after the dial and after every transfer, so a fallback to another transport cannot go unseen.
 */
async function openBlob (spec: SubjectSpec & { kind: 'blob' }, cid: string): Promise<Subject> {
  const host = await createTapestryHost(hostOptions(spec.window, [], spec.encryption == null ? undefined : [spec.encryption]))
  const peer = spec.addr.split('/p2p/')[1]
  // the bulk subject keeps its bulk connection between transfers, as a daemon does
  const bulk = spec.bulk === true ? new BulkClient() : undefined
  let connection = ''
  const check = (): void => {
    const conns = host.libp2p.getConnections().filter(c => c.remotePeer.toString() === peer)
    if (conns.length !== 1) throw new Error(`${spec.name}: ${conns.length} connections to the provider, expected one`)
    const c = conns[0]
    const addr = c.remoteAddr.toString()
    const ok = spec.transport === 'quic'
      ? addr.includes('/quic-v1') && c.multiplexer === 'quic'
      : addr.includes('/tcp/') && c.multiplexer === '/yamux/1.0.0' && c.encryption === (spec.encryption === 'noise' ? '/noise' : '/tls/1.0.0')
    const what = `${spec.transport === 'quic' ? 'udp/quic-v1 (TLS 1.3 inside)' : 'tcp'} ${String(c.encryption)} ${String(c.multiplexer)}${spec.bulk === true ? ', bytes over a TLS 1.2 PSK-AES256-GCM connection' : ''}`
    if (!ok) throw new Error(`${spec.name}: the connection is ${what} (${addr})`)
    connection = what
  }
  try {
    await host.dial(spec.addr)
    check()
  } catch (err) {
    await host.stop()
    throw err
  }
  return {
    name: spec.name,
    get connection () { return connection },
    once: async () => {
      const t0 = performance.now()
      const got = await fetchBlob(host, cid, [peer], { maxBytes: SIZE, timeoutMs: 120_000, bulk: bulk != null ? { client: bulk } : undefined })
      const ms = performance.now() - t0
      if (got.byteLength !== SIZE) throw new Error('short blob')
      check()
      return SIZE / 1e6 / (ms / 1000)
    },
    close: async () => { bulk?.close(); await host.stop() }
  }
}

/** One transfer; a failure is retried once (seen rarely: a fresh connection's first blob stream closed during negotiation). */
async function transfer (s: Subject): Promise<number> {
  try {
    return await s.once()
  } catch (err) {
    process.stderr.write(`bench net: ${s.name} transfer failed, retrying: ${String(err).slice(0, 300)}\n`)
    return await s.once()
  }
}

/**
 * Open every subject, warm each up with one transfer, then `reps` rounds over all of them, each
 * round in a rotated order, so a disturbance on this shared machine spreads over all subjects
 * instead of landing on one.
 */
async function runSession (req: SessionRequest): Promise<SessionResult> {
  const subjects: Subject[] = []
  try {
    for (const spec of req.subjects) subjects.push(await openSubject(spec, req.cid))
    for (const s of subjects) await transfer(s)
    const rates: number[][] = subjects.map(() => [])
    for (let r = 0; r < req.reps; r++) {
      for (let i = 0; i < subjects.length; i++) {
        const k = (i + r) % subjects.length
        rates[k].push(await transfer(subjects[k]))
      }
    }
    return Object.fromEntries(subjects.map((s, k) => [s.name, { rates: rates[k], connection: s.connection }]))
  } finally {
    await Promise.all(subjects.map(async s => { await s.close() }))
  }
}

/**
 * The subjects of the main comparison, against a provider; `via` maps a TCP port to the one to dial
 * (the proxy, which carries neither QUIC nor the bulk port the provider names: `direct` false).
 */
function subjectSpecs (s: ServerReady, via: (port: number) => number = p => p, direct = true, withCipher = true): SubjectSpec[] {
  const host = hostOf(s.tcp)
  const tcpVia = (addr: string): string => addr.replace(/\/tcp\/(\d+)\//, (_, p: string) => `/tcp/${via(Number(p))}/`)
  const specs: SubjectSpec[] = [
    { name: RAW, kind: 'bytes', host, port: via(s.rawPort), tls: false },
    { name: TLS_YAMUX, kind: 'blob', addr: tcpVia(s.tcp), transport: 'tcp', encryption: 'tls', window: TUNED_WINDOW },
    { name: NOISE_YAMUX, kind: 'blob', addr: tcpVia(s.tcp), transport: 'tcp', encryption: 'noise', window: TUNED_WINDOW }
  ]
  if (direct) specs.push(bulkSpec(s))
  if (direct && s.quic != null) specs.push({ name: QUIC, kind: 'blob', addr: s.quic, transport: 'quic', window: TUNED_WINDOW })
  if (s.tlsPort != null) specs.push({ name: NODE_TLS, kind: 'bytes', host, port: via(s.tlsPort), tls: true })
  specs.push({ name: AES_RECORDS, kind: 'aes', host, port: via(s.aesPort) })
  if (withCipher) specs.push({ name: CIPHER, kind: 'cipher' })
  return specs
}

/** The blob protocol with bulk transfer: only where the provider is reached directly (a proxy would not delay its bulk port). */
function bulkSpec (s: ServerReady): SubjectSpec {
  return { name: BULK, kind: 'blob', addr: s.tcp, transport: 'tcp', encryption: 'tls', window: TUNED_WINDOW, bulk: true }
}

/** The yamux-window rows: raw TCP, the tuned and the stock window, and bulk transfer where `direct`. */
function windowSpecs (s: ServerReady, via: (port: number) => number = p => p, direct = true): SubjectSpec[] {
  const tcpVia = (addr: string): string => addr.replace(/\/tcp\/(\d+)\//, (_, p: string) => `/tcp/${via(Number(p))}/`)
  return [
    { name: RAW, kind: 'bytes', host: hostOf(s.tcp), port: via(s.rawPort), tls: false },
    { name: TLS_YAMUX, kind: 'blob', addr: tcpVia(s.tcp), transport: 'tcp', encryption: 'tls', window: TUNED_WINDOW },
    { name: STOCK_WINDOW, kind: 'blob', addr: tcpVia(s.stock), transport: 'tcp', encryption: 'tls', window: YAMUX_DEFAULT_MAX_WINDOW },
    ...(direct ? [bulkSpec(s)] : [])
  ]
}

interface FarResult {
  method: 'netns' | 'proxy'
  note: string
  /** 40 ms RTT, the host's TCP buffer ceilings: every transport */
  main: SessionResult
  /** 40 ms RTT, 64 MiB TCP buffers (netns; the proxy has no buffers to tune): the yamux window rows */
  window: SessionResult
  quicWhy?: string
  tcpWmem?: string
  tcpRmem?: string
  delayLineCpuSeconds?: number
}

/** The 40 ms rows over two namespaces and the kernel-path delay line. */
async function farNetns (link: NetnsLink): Promise<FarResult> {
  const tcpWmem = link.readSysctl('net.ipv4.tcp_wmem')
  const tcpRmem = link.readSysctl('net.ipv4.tcp_rmem')
  const server = await spawnRole<ServerReady>('server', [link.addrA], link.execIn(link.nsA))
  const client = await spawnRole<string>('client', [], link.execIn(link.nsB))
  const s = server.ready
  let nextId = 0
  const session = async (subjects: SubjectSpec[], reps: number): Promise<SessionResult> => {
    const id = nextId++
    const reply = new Promise<SessionReply>((resolve, reject) => {
      const onMessage = (m: SessionReply): void => { if (m.id === id) { client.child.off('message', onMessage); resolve(m) } }
      client.child.on('message', onMessage)
      client.child.once('exit', code => reject(new Error(`bench client exited with ${String(code)}`)))
    })
    client.child.send({ id, cid: s.cid, reps, subjects } satisfies SessionRequest)
    const r = await reply
    if (r.error != null || r.result == null) throw new Error(r.error ?? 'no result')
    return r.result
  }
  try {
    const main = await session(subjectSpecs(s, p => p, true, false), REPS)
    link.sysctl('net.ipv4.tcp_wmem', `4096 16384 ${TUNED_TCP_BUFFER}`)
    link.sysctl('net.ipv4.tcp_rmem', `4096 131072 ${TUNED_TCP_BUFFER}`)
    const window = await session(windowSpecs(s), TUNED_REPS)
    return {
      method: 'netns',
      note: `two network namespaces, kernel-path delay line ${ONE_WAY_DELAY_MS} ms each way (TUN + GSO, MTU 1500); TCP and QUIC end to end`,
      main,
      window,
      quicWhy: s.quicWhy,
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

/** The 40 ms rows through the userland TCP delay proxy (fallback; no QUIC). */
async function farProxy (s: ServerReady, why: string): Promise<FarResult> {
  const portIn = (addr: string): number => Number(/\/tcp\/(\d+)\//.exec(addr)?.[1])
  const ports = [s.rawPort, portIn(s.tcp), portIn(s.stock), s.aesPort, ...(s.tlsPort != null ? [s.tlsPort] : [])]
  const far: LinkSpec = { delayMs: ONE_WAY_DELAY_MS }
  const proxy = await spawnRole<ProxyReady>('proxy', [JSON.stringify(ports.map(port => ({ port, link: far })))])
  const via = (port: number): number => proxy.ready.ports[ports.indexOf(port)]
  try {
    const main = await runSession({ id: 0, cid: s.cid, reps: REPS, subjects: subjectSpecs(s, via, false, false) })
    const window = await runSession({ id: 1, cid: s.cid, reps: TUNED_REPS, subjects: windowSpecs(s, via, false) })
    return {
      method: 'proxy',
      note: `USERLAND DELAY PROXY (network namespaces unavailable: ${why}); ${ONE_WAY_DELAY_MS} ms each way, in-flight cap ${(kernelMaxTcpWindow() / MiB).toFixed(0)} MiB; it terminates TCP, so raw TCP never sees the RTT in its window; it carries TCP only, so no QUIC row`,
      main,
      window,
      quicWhy: 'the userland proxy carries TCP only'
    }
  } finally {
    proxy.child.disconnect()
  }
}

export async function benchNet (opts: { json: boolean }): Promise<object> {
  const started = performance.now()
  const say = (s: string): void => { if (!opts.json) process.stdout.write(s + '\n') }
  const server = await spawnRole<ServerReady>('server', ['127.0.0.1'])
  const s = server.ready
  let link: NetnsLink | undefined
  try {
    const near = await runSession({ id: 0, cid: s.cid, reps: REPS, subjects: subjectSpecs(s) })
    let why = ''
    try {
      link = await openNetnsLink({ delayMs: ONE_WAY_DELAY_MS })
    } catch (err) {
      why = err instanceof Error ? err.message.split('\n')[0] : String(err)
    }
    const far = link != null ? await farNetns(link) : await farProxy(s, why)
    const seconds = (performance.now() - started) / 1000

    const names = Object.keys(near)
    const rawNear = spread(near[RAW].rates).median
    const rawFar = spread(far.main[RAW].rates).median
    const stat = (r: SessionResult, name: string): { median: number, min: number, max: number } | undefined => r[name] == null ? undefined : spread(r[name].rates)
    const encrypted = names.filter(n => n !== RAW && n !== CIPHER)
    const ratio = (n: string): number => spread(near[n].rates).median / rawNear
    const meeting = encrypted.filter(n => ratio(n) >= TARGET_RATIO)
    // each side of a transfer runs on one core: it copies through its socket (what raw TCP costs)
    // and runs the cipher; the two costs added estimate what any encryption there can reach
    const cipherNear = near[CIPHER] == null ? undefined : spread(near[CIPHER].rates).median
    const estimate = cipherNear == null ? NaN : 1 / (1 / rawNear + 1 / cipherNear)
    const libp2p = encrypted.filter(n => TAPESTRY_PATHS.includes(n))
    const adopted = libp2p.reduce((a, b) => ratio(b) > ratio(a) ? b : a, libp2p[0])
    const w = {
      raw: stat(far.window, RAW)?.median ?? NaN,
      tuned: stat(far.window, TLS_YAMUX)?.median ?? NaN,
      stock: stat(far.window, STOCK_WINDOW)?.median ?? NaN,
      bulk: stat(far.window, BULK)?.median ?? NaN
    }

    const f = (x: number | undefined): string => x == null || Number.isNaN(x) ? '' : x.toFixed(0)
    const cell = (st: { median: number, min: number, max: number } | undefined): string => st == null ? '—'.padStart(16) : `${f(st.median).padStart(5)} (${f(st.min)}–${f(st.max)})`.padEnd(16)
    const wmemMax = far.tcpWmem?.split(' ')[2]
    const farName = far.method === 'netns' ? `40 ms RTT, host TCP buffers${wmemMax == null ? '' : ` (wmem ≤ ${(Number(wmemMax) / MiB).toFixed(0)} MiB)`}` : '40 ms RTT (userland proxy)'
    say(`net: ${SIZE / MiB} MiB per transfer over each transport vs raw TCP of the same bytes over the same path, provider in another process, warm connections; ${REPS} rounds round-robin over the transports after one warm-up each; MB/s median (min–max), ratio = median / raw TCP's median in the same run`)
    say(`  ${'transport'.padEnd(16)} ${'loopback'.padEnd(19)} ${'× raw'.padEnd(7)} ${farName}`)
    for (const n of names) {
      const nf = stat(far.main, n)
      const ceiling = n === NODE_TLS
        ? '  (ceiling: Node TLS on a TCP socket, no libp2p)'
        : n === AES_RECORDS ? '  (ceiling: hand-framed AES-256-GCM on Node crypto, no TLS, no libp2p)' : n === CIPHER ? '  (the cipher alone, one core, in memory)' : ''
      say(`  ${n.padEnd(16)} ${cell(stat(near, n))}   ${ratio(n).toFixed(2)}×   ${cell(nf)} ${nf == null ? '' : `${(nf.median / rawFar).toFixed(2)}×`}${ceiling}`)
    }
    if (cipherNear != null) say(`  estimate: each side copies through its socket and runs the cipher on one core: 1/(1/raw + 1/cipher) = ${f(estimate)} MB/s = ${(estimate / rawNear).toFixed(2)}× raw TCP (cipher ${f(cipherNear)} MB/s in memory = ${(cipherNear / rawNear).toFixed(2)}× raw; medians of this run); ${TARGET_RATIO}× needs a cipher ≥ ${(TARGET_RATIO / (1 - TARGET_RATIO)).toFixed(0)}× raw TCP's rate on one core`)
    say(`  target: ≥ ${TARGET_RATIO}× raw TCP encrypted on loopback: ${meeting.length > 0 ? `met by ${meeting.join(', ')}` : 'met by none'}`)
    say(`  fastest path a daemon uses, on loopback: ${adopted} (${ratio(adopted).toFixed(2)}× raw TCP; ${(ratio(adopted) / ratio(TLS_YAMUX)).toFixed(2)}× ${TLS_YAMUX})`)
    say(`  connections: ${names.map(n => `${n} = ${near[n].connection}`).join('; ')}`)
    if (s.quic == null) say(`  no QUIC row: ${s.quicWhy ?? 'QUIC unavailable'}`)
    else if (far.quicWhy != null) say(`  no QUIC at 40 ms: ${far.quicWhy}`)
    if (s.tlsPort == null) say(`  no ${NODE_TLS} row: ${s.tlsWhy ?? 'no certificate'}`)
    const windowWhere = far.method === 'netns' ? `40 ms RTT, TCP buffers ${TUNED_TCP_BUFFER / MiB} MiB` : '40 ms RTT (proxy)'
    say(`  ${windowWhere}, median of ${TUNED_REPS}: raw TCP ${f(w.raw)} MB/s; ${TLS_YAMUX} ${f(w.tuned)} MB/s (${(w.tuned / w.raw).toFixed(2)}×); yamux stock 16 MiB window ${f(w.stock)} MB/s → 64 MiB window = ${(w.tuned / w.stock).toFixed(2)}×${Number.isNaN(w.bulk) ? '' : `; ${BULK} ${f(w.bulk)} MB/s (${(w.bulk / w.raw).toFixed(2)}× raw, ${(w.bulk / w.tuned).toFixed(2)}× ${TLS_YAMUX})`}`)
    say(`  (${far.note}${far.delayLineCpuSeconds == null ? '' : `; delay line used ${far.delayLineCpuSeconds.toFixed(1)} CPU s`}; bench took ${seconds.toFixed(0)} s)`)

    const transports = Object.fromEntries(names.map(n => {
      const a = spread(near[n].rates)
      const b = stat(far.main, n)
      return [n, {
        ratioVsRaw: a.median / rawNear,
        MBps: a.median,
        MBpsMin: a.min,
        MBpsMax: a.max,
        ratioVsRawAt40msRtt: b == null ? undefined : b.median / rawFar,
        MBpsAt40msRtt: b?.median,
        MBpsAt40msRttMin: b?.min,
        MBpsAt40msRttMax: b?.max,
        samplesMBps: near[n].rates,
        samplesMBpsAt40msRtt: far.main[n]?.rates,
        connection: near[n].connection,
        libp2p: LIBP2P_TRANSPORTS.includes(n),
        meetsTarget: n === RAW || n === CIPHER ? undefined : a.median / rawNear >= TARGET_RATIO
      }]
    }))
    return {
      bench: 'net',
      bytes: SIZE,
      reps: REPS,
      seconds,
      rawTcpMBps: rawNear,
      rawTcpMBpsAt40msRtt: rawFar,
      transports,
      adopted,
      meetingTarget: meeting,
      encryptionBound: cipherNear == null ? undefined : { cipherMBps: cipherNear, MBps: estimate, ratioVsRaw: estimate / rawNear, note: 'estimate: one core per side copies through its socket and runs the cipher: 1/(1/raw + 1/cipher); the in-memory cipher allocates a fresh output per record, as Node\'s API does, and varies from run to run' },
      yamuxWindowAt40msRtt: {
        tcpBufferBytes: far.method === 'netns' ? TUNED_TCP_BUFFER : undefined,
        reps: TUNED_REPS,
        rawTcpMBps: w.raw,
        tunedWindowMBps: w.tuned,
        stockWindowMBps: w.stock,
        bulkMBps: Number.isNaN(w.bulk) ? undefined : w.bulk,
        ratioVsRaw: w.tuned / w.raw,
        ratioTunedVsStockWindow: w.tuned / w.stock
      },
      link: {
        method: far.method,
        note: far.note,
        oneWayDelayMs: ONE_WAY_DELAY_MS,
        hostTcpWmem: far.tcpWmem,
        hostTcpRmem: far.tcpRmem,
        delayLineCpuSeconds: far.delayLineCpuSeconds,
        quicAt40msRtt: far.quicWhy == null && s.quic != null
      },
      targets: { ratioVsRaw: TARGET_RATIO }
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
