// A local cluster of real daemons (child processes on 127.0.0.1), for `tapestry demo` and e2e tests.
import type { ControlResponses } from './control-types.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtemp, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initDataDir, dataDirPaths, readControlInfo, readToken } from './datadir.js'
import { controlRequest, type ControlRoute } from './control.js'
import type { NodeConfig } from './config.js'
import type { RoundHistory } from './node.js'

export interface ClusterOptions {
  nodes: number
  /** stop each daemon after this many rounds (0 = run until stopped) */
  rounds: number
  /** parent directory for the nodes' data dirs @default a fresh temp dir */
  dir?: string
  /** config fields for every node */
  config?: Partial<NodeConfig>
  runId?: string
  /** extra env for the children */
  env?: Record<string, string>
}

export interface ClusterNode {
  index: number
  dataDir: string
  peerId: string
  port: number
  proc?: ChildProcess
  exited?: Promise<number | null>
}

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'tapestry.js')

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a != null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

export class LocalCluster {
  readonly nodes: ClusterNode[] = []
  readonly dir: string
  private readonly runId: string

  private constructor (private readonly o: ClusterOptions, dir: string) {
    this.dir = dir
    this.runId = o.runId ?? `demo-${process.pid}`
  }

  /** Initialises `nodes` data dirs whose configs name each other as founding members. */
  static async create (o: ClusterOptions): Promise<LocalCluster> {
    const c = new LocalCluster(o, o.dir ?? await mkdtemp(join(tmpdir(), 'tapestry-demo-')))
    for (let i = 0; i < o.nodes; i++) await c.initNode(i)
    const members = c.nodes.map(n => n.peerId)
    for (const n of c.nodes) await c.configure(n, members, o.nodes)
    return c
  }

  private async initNode (i: number): Promise<ClusterNode> {
    const dataDir = join(this.dir, `node-${i}`)
    const port = await freePort()
    const { peerId } = await initDataDir(dataDir, { config: { runId: this.runId, listen: [`/ip4/127.0.0.1/tcp/${port}`] }, force: true })
    const node: ClusterNode = { index: i, dataDir, peerId, port }
    this.nodes[i] = node
    return node
  }

  private async configure (n: ClusterNode, members: string[], shards: number): Promise<void> {
    const bootstrap = this.nodes.filter(m => m !== n && m.peerId !== '').map(m => `/ip4/127.0.0.1/tcp/${m.port}/p2p/${m.peerId}`)
    await initDataDir(n.dataDir, {
      force: true,
      config: {
        ...this.o.config,
        runId: this.runId,
        listen: [`/ip4/127.0.0.1/tcp/${n.port}`],
        bootstrap,
        members,
        shards,
        shard: n.index % shards,
        maxRounds: this.o.rounds
      }
    })
  }

  /** A node that was not a founding member (a late joiner); it gets the last shard's data. */
  async addNode (): Promise<ClusterNode> {
    const founders = this.nodes.map(n => n.peerId)
    const n = await this.initNode(this.nodes.length)
    await this.configure(n, founders, Math.max(1, this.o.nodes))
    return n
  }

  async start (i: number): Promise<void> {
    const n = this.nodes[i]
    const log = await open(join(this.dir, `node-${i}.log`), 'a')
    const proc = spawn(process.execPath, [BIN, 'start', '--data-dir', n.dataDir], {
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, ...this.o.env }
    })
    n.proc = proc
    n.exited = new Promise(resolve => proc.once('exit', code => { void log.close(); resolve(code) }))
    // ready once its control API answers
    const deadline = Date.now() + 60_000
    for (;;) {
      if (proc.exitCode != null) throw new Error(`node ${i} exited with ${proc.exitCode} (see ${join(this.dir, `node-${i}.log`)})`)
      try { await this.query(i, 'status'); return } catch {}
      if (Date.now() > deadline) throw new Error(`node ${i} did not start within 60 s`)
      await sleep(200)
    }
  }

  async startAll (): Promise<void> {
    await Promise.all(this.nodes.map(async (_, i) => await this.start(i)))
  }

  async query<R extends ControlRoute> (i: number, route: R): Promise<ControlResponses[R]> {
    const paths = dataDirPaths(this.nodes[i].dataDir)
    const info = await readControlInfo(paths)
    return await controlRequest(info.port, await readToken(paths), route, 5_000)
  }

  async rounds (i: number): Promise<RoundHistory[]> {
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

export async function sleep (ms: number): Promise<void> {
  return await new Promise(resolve => setTimeout(resolve, ms))
}
