// A local cluster of real daemons (child processes on 127.0.0.1), for `tapestry demo` and e2e tests.
import type { ControlResponses } from './control-types.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { initDataDir, dataDirPaths, readControlInfo, readToken, ensureIdentity, loadIdentity, freeTcpPort } from './datadir.js'
import { saveRosterDoc } from './run-files.js'
import { admit, createManifest, verifyRosterDoc, type SignedManifest } from '../manifest/index.js'
import { splitFields } from './create-run.js'
import { RoundLog } from './round-log.js'
import { controlRequest, type ControlRoute } from './control.js'
import type { NodeConfig } from './config.js'
import type { RoundHistory } from './node.js'

export interface ClusterOptions {
  nodes: number
  /** stop each daemon after this many rounds (0 = run until stopped) */
  rounds: number
  /** parent directory for the nodes' data dirs @default a fresh temp dir */
  dir?: string
  /** config fields for every node (run settings go into the manifest) */
  config?: Partial<NodeConfig>
  /** the run's name in its manifest @default demo-<pid> */
  name?: string
  /** the manifest's members needed before round 0 @default 1 */
  minMembers?: number
  /** extra env for the children */
  env?: Record<string, string>
  /**
   * Per node: run it inside this network namespace (made by the caller, `ip netns exec`, which
   * execs, so the child's pid is the daemon's), listening on `ip` over TCP (and QUIC with `quic`, where installed);
   * `reachable: false` keeps it out of the others' bootstrap lists (behind a NAT). Its control API
   * is on that namespace's 127.0.0.1: queries go through a process started there, and rounds() reads
   * its rounds.jsonl. Nodes without a placement listen on 127.0.0.1 in this namespace.
   */
  placement?: Array<NodePlacement | undefined>
}

export interface NodePlacement { netns: string, ip: string, reachable: boolean, /** also listen on QUIC (where it is installed) @default false */ quic?: boolean }

export interface ClusterNode {
  index: number
  dataDir: string
  peerId: string
  port: number
  proc?: ChildProcess
  exited?: Promise<number | null>
}

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'tapestry.js')

const freePort = async (): Promise<number> => await freeTcpPort('127.0.0.1')

export class LocalCluster {
  readonly nodes: ClusterNode[] = []
  readonly dir: string
  /** the run every node is set up for; node 0 created and signed it */
  manifest!: SignedManifest

  private constructor (private readonly o: ClusterOptions, dir: string) {
    this.dir = dir
  }

  /** Creates `nodes` identities, a manifest (signed by node 0) naming them all founding members, and their data dirs. */
  static async create (o: ClusterOptions): Promise<LocalCluster> {
    const c = new LocalCluster(o, o.dir ?? await mkdtemp(join(tmpdir(), 'tapestry-demo-')))
    const keys = []
    for (let i = 0; i < o.nodes; i++) {
      const dataDir = join(c.dir, `node-${i}`)
      const key = await ensureIdentity(dataDir)
      keys.push(key)
      c.nodes[i] = { index: i, dataDir, peerId: peerIdFromPrivateKey(key).toString(), port: await freePort() }
    }
    const { settings } = splitFields(o.config ?? {})
    c.manifest = await createManifest({
      name: o.name ?? `demo-${process.pid}`,
      settings,
      members: c.nodes.map(n => ({ peerId: n.peerId })),
      minMembers: o.minMembers ?? 1,
      createdAt: new Date()
    }, keys[0])
    for (const n of c.nodes) await c.configure(n, o.nodes)
    return c
  }

  private placed (i: number): NodePlacement | undefined {
    return this.o.placement?.[i]
  }

  private async configure (n: ClusterNode, shards: number): Promise<void> {
    const bootstrap = this.nodes.filter(m => m !== n && m.peerId !== '' && (this.placed(m.index)?.reachable ?? true))
      .map(m => `/ip4/${this.placed(m.index)?.ip ?? '127.0.0.1'}/tcp/${m.port}/p2p/${m.peerId}`)
    const at = this.placed(n.index)
    const listen = at == null ? [`/ip4/127.0.0.1/tcp/${n.port}`] : [`/ip4/${at.ip}/tcp/${n.port}`, ...(at.quic === true ? [`/ip4/${at.ip}/udp/${n.port}/quic-v1`] : [])]
    const { local } = splitFields(this.o.config ?? {})
    await initDataDir(n.dataDir, {
      force: true,
      manifest: this.manifest,
      config: {
        ...local,
        listen,
        bootstrap,
        shards,
        shard: n.index % shards,
        maxRounds: this.o.rounds
      }
    })
  }

  /**
   * A node that was not a founding member (a late joiner), admitted by node 0: the admission is
   * kept in every node's data dir and handed to every running daemon. It gets the last shard's data.
   */
  async addNode (): Promise<ClusterNode> {
    const i = this.nodes.length
    const dataDir = join(this.dir, `node-${i}`)
    const key = await ensureIdentity(dataDir)
    const n: ClusterNode = { index: i, dataDir, peerId: peerIdFromPrivateKey(key).toString(), port: await freePort() }
    this.nodes[i] = n
    await this.configure(n, Math.max(1, this.o.nodes))
    await this.admit(n.peerId)
    return n
  }

  /** Node 0 (the creator) admits `peerId`: kept in every node's data dir and handed to every running daemon. */
  async admit (peerId: string): Promise<void> {
    const admission = await admit(this.manifest, peerId, await loadIdentity(dataDirPaths(this.nodes[0].dataDir)))
    const doc = await verifyRosterDoc(this.manifest, admission, Date.now())
    for (const m of this.nodes) {
      await saveRosterDoc(dataDirPaths(m.dataDir), doc)
      if (m.peerId !== peerId && this.running(m.index)) await this.query(m.index, 'membership', admission)
    }
  }

  async start (i: number): Promise<void> {
    const n = this.nodes[i]
    const log = await open(join(this.dir, `node-${i}.log`), 'a')
    const ns = this.placed(i)?.netns
    const argv = [process.execPath, BIN, 'start', '--data-dir', n.dataDir]
    // `ip netns exec` execs the daemon in place: the child's pid is the daemon's, so kill() reaches it
    const proc = spawn(ns == null ? argv[0] : 'ip', ns == null ? argv.slice(1) : ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, ...this.o.env }
    })
    n.proc = proc
    n.exited = new Promise(resolve => proc.once('exit', code => { void log.close(); resolve(code) }))
    // ready once its control API answers (in another namespace: once it wrote control.json)
    const deadline = Date.now() + 60_000
    for (;;) {
      if (proc.exitCode != null) throw new Error(`node ${i} exited with ${proc.exitCode} (see ${join(this.dir, `node-${i}.log`)})`)
      try {
        if (ns == null) await this.query(i, 'status')
        else await readControlInfo(dataDirPaths(n.dataDir))
        return
      } catch {}
      if (Date.now() > deadline) throw new Error(`node ${i} did not start within 60 s`)
      await sleep(200)
    }
  }

  async startAll (): Promise<void> {
    await Promise.all(this.nodes.map(async (_, i) => await this.start(i)))
  }

  async query<R extends ControlRoute> (i: number, route: R, body?: unknown): Promise<ControlResponses[R]> {
    const paths = dataDirPaths(this.nodes[i].dataDir)
    const info = await readControlInfo(paths)
    const ns = this.placed(i)?.netns
    if (ns != null) return await controlInNetns(ns, info.port, await readToken(paths), route, body) as ControlResponses[R]
    return await controlRequest(info.port, await readToken(paths), route, 5_000, body)
  }

  /** The node's round history: from its control API, or from its rounds.jsonl for a node in another namespace (no process per poll). */
  async rounds (i: number): Promise<RoundHistory[]> {
    if (this.placed(i) != null) return await new RoundLog(dataDirPaths(this.nodes[i].dataDir).rounds).read().catch(() => [])
    try { return (await this.query(i, 'rounds')).rounds } catch { return [] }
  }

  running (i: number): boolean {
    const p = this.nodes[i].proc
    return p != null && p.exitCode == null && p.signalCode == null
  }

  kill (i: number, signal: NodeJS.Signals = 'SIGKILL'): void {
    this.nodes[i].proc?.kill(signal)
  }

  async waitExit (i: number, timeoutMs = 30_000): Promise<number | null> {
    // the timer is cleared: left pending it would hold the caller's process for timeoutMs after the exit
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`node ${i} did not exit`)), timeoutMs) })
    try { return await Promise.race([this.nodes[i].exited ?? Promise.resolve(null), late]) } finally { clearTimeout(timer) }
  }

  /** Polls until `pred` holds; bounded. */
  async waitFor (what: string, pred: () => Promise<boolean>, timeoutMs: number, everyMs = 300): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await pred()) return
      await sleep(everyMs)
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
  }

  async stopAll (): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) if (this.running(i)) this.kill(i, 'SIGTERM')
    for (let i = 0; i < this.nodes.length; i++) {
      if (this.nodes[i].proc == null) continue
      try { await this.waitExit(i, 15_000) } catch { this.kill(i, 'SIGKILL') }
    }
  }
}

const CONTROL_MODULE = new URL('./control.js', import.meta.url).href

/** A control request to a daemon in another network namespace (its control API is on that namespace's 127.0.0.1). */
async function controlInNetns (ns: string, port: number, token: string, route: string, body: unknown): Promise<unknown> {
  const script = `const { controlRequest } = await import(${JSON.stringify(CONTROL_MODULE)});
const [port, token, route, b] = JSON.parse(process.argv[1]); const body = b === null ? undefined : b;
try { process.stdout.write(JSON.stringify({ ok: await controlRequest(port, token, route, 5000, body) })) }
catch (err) { process.stdout.write(JSON.stringify({ error: String(err && err.message || err) })) }`
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script, JSON.stringify([port, token, route, body ?? null])], { stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    child.stdout.on('data', (d: Buffer) => { text += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.once('error', reject)
    child.once('exit', () => { clearTimeout(timer); resolve(text) })
  })
  const r = JSON.parse(out === '' ? '{"error":"no answer"}' : out) as { ok?: unknown, error?: string }
  if (r.error != null) throw new Error(r.error)
  return r.ok
}

export async function sleep (ms: number): Promise<void> {
  return await new Promise(resolve => setTimeout(resolve, ms))
}
