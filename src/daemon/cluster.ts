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
import { RoundLog } from './round-log.js'
import { admit, createManifest, verifyRosterDoc, type SignedManifest } from '../manifest/index.js'
import { splitFields } from './create-run.js'
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
  /** per node: the IPv4 address it listens on and is dialled at @default 127.0.0.1 for every node */
  hosts?: readonly string[]
  /**
   * per node: an argv prefix its daemon runs under (e.g. `ip netns exec NS`, which execs, so the
   * child's pid is the daemon's). Its control API (127.0.0.1 where it runs) is then out of reach:
   * start() waits for its control.json instead and rounds() reads its rounds.jsonl.
   */
  launch?: (i: number) => string[]
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

const freePort = async (): Promise<number> => await freeTcpPort('127.0.0.1')
const LOOPBACK = '127.0.0.1'

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

  private async configure (n: ClusterNode, shards: number): Promise<void> {
    const bootstrap = this.nodes.filter(m => m !== n && m.peerId !== '').map(m => `/ip4/${this.host(m.index)}/tcp/${m.port}/p2p/${m.peerId}`)
    const { local } = splitFields(this.o.config ?? {})
    await initDataDir(n.dataDir, {
      force: true,
      manifest: this.manifest,
      config: {
        ...local,
        listen: [`/ip4/${this.host(n.index)}/tcp/${n.port}`],
        bootstrap,
        shards,
        shard: n.index % shards,
        maxRounds: this.o.rounds
      }
    })
  }

  private host (i: number): string {
    return this.o.hosts?.[i] ?? LOOPBACK
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
    const argv = [...this.o.launch?.(i) ?? [], process.execPath, BIN, 'start', '--data-dir', n.dataDir]
    const proc = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, ...this.o.env }
    })
    n.proc = proc
    n.exited = new Promise(resolve => proc.once('exit', code => { void log.close(); resolve(code) }))
    // ready once its control API answers (out of reach: once it wrote control.json)
    const deadline = Date.now() + 60_000
    for (;;) {
      if (proc.exitCode != null) throw new Error(`node ${i} exited with ${proc.exitCode} (see ${join(this.dir, `node-${i}.log`)})`)
      try {
        if (this.o.launch == null) await this.query(i, 'status')
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
    return await controlRequest(info.port, await readToken(paths), route, 5_000, body)
  }

  /** The node's round history: from its control API, or from its rounds.jsonl when that is out of reach (`launch`). */
  async rounds (i: number): Promise<RoundHistory[]> {
    if (this.o.launch != null) return await new RoundLog(dataDirPaths(this.nodes[i].dataDir).rounds).read()
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
