// A node's data directory: identity key, config, control token, and where the stores live.
import { mkdir, readFile, writeFile, stat, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { createServer } from 'node:net'
import { createSocket } from 'node:dgram'
import { parseNodeConfig, runSettingsOf, checkRuleFeasible, type NodeConfig } from './config.js'
import { loadRun, saveManifest } from './run-files.js'
import { assertSettingsAgree, type SignedManifest } from '../manifest/index.js'
import { DaemonError, DaemonErrorCode } from './errors.js'
import { assertUnlocked, pidAlive } from './lock.js'
import { writeFileAtomic } from './atomic-file.js'

export interface DataDirPaths {
  root: string
  identity: string
  config: string
  token: string
  /** written by a running daemon: {port, pid, peerId} */
  control: string
  /** the running daemon's pid, created exclusively: the data dir's lock (see lock.ts) */
  lock: string
  blobs: string
  chain: string
  state: string
  peerstore: string
  log: string
  /** the run's signed manifest */
  run: string
  /** admissions and membership changes this node has seen, one checked document per file */
  membership: string
  /** signed evidence records of faults this node proved (evidence.ts) */
  evidence: string
  /** one JSON record per applied round (round-log.ts): history readable with the daemon stopped */
  rounds: string
}

export function dataDirPaths (dir: string): DataDirPaths {
  const root = resolve(dir)
  return {
    root,
    identity: join(root, 'identity.key'),
    config: join(root, 'config.json'),
    token: join(root, 'control.token'),
    control: join(root, 'control.json'),
    lock: join(root, 'daemon.pid'),
    blobs: join(root, 'blobs'),
    chain: join(root, 'chain'),
    state: join(root, 'state'),
    peerstore: join(root, 'peerstore'),
    log: join(root, 'daemon.log'),
    run: join(root, 'run.json'),
    membership: join(root, 'membership'),
    evidence: join(root, 'evidence'),
    rounds: join(root, 'rounds.jsonl')
  }
}

export const DEFAULT_DATA_DIR = '.tapestry'

async function exists (p: string): Promise<boolean> {
  try { await stat(p); return true } catch { return false }
}

export interface InitOptions {
  /**
   * node config fields for config.json. With `force` on an initialised dir they are merged over the
   * existing config (a field set to null goes back to its default).
   */
  config: Partial<{ [K in keyof NodeConfig]: NodeConfig[K] | null }>
  /**
   * the run to join (checked): written to run.json, its settings become the config's. Required for
   * a data dir that has no run.json yet; a data dir never changes run.
   */
  manifest?: SignedManifest
  /** re-configure an existing data directory (the identity key, token and run are always kept) */
  force?: boolean
}

export interface InitResult {
  peerId: string
  paths: DataDirPaths
  runId: string
  /** fields whose value differs from the previous config (all of them for a fresh dir) */
  changed: string[]
  /** set when a previous config existed but could not be read as JSON, so nothing of it was kept */
  replacedUnreadable?: string
}

/** Fields of configs written before runs had manifests: the manifest holds them now. */
const MOVED_TO_MANIFEST = ['runId', 'members', 'capacity']

/** The data dir's identity key, created (with the directory) when there is none yet. */
export async function ensureIdentity (dir: string): Promise<PrivateKey> {
  const paths = dataDirPaths(dir)
  await mkdir(paths.root, { recursive: true, mode: 0o700 })
  if (await exists(paths.identity)) return await loadIdentity(paths)
  const key = await generateKeyPair('Ed25519')
  await writeFile(paths.identity, privateKeyToProtobuf(key), { mode: 0o600 })
  return key
}

/**
 * Creates (or, with force, re-configures) a data directory for a run; returns the node's peer id.
 * Everything is checked before anything is written: settings that disagree with the manifest
 * (ERR_MANIFEST_SETTINGS), a manifest of another run than the dir's (ERR_DAEMON_CONFIG), no run at
 * all (ERR_DAEMON_NO_RUN). A forced re-configure while a daemon holds the dir is refused
 * (DATA_DIR_LOCKED): the daemon would go on with the config it read at start.
 */
export async function initDataDir (dir: string, opts: InitOptions): Promise<InitResult> {
  const paths = dataDirPaths(dir)
  const previous = await readPreviousConfig(paths.config)
  if (previous != null && opts.force !== true) {
    throw new DaemonError(DaemonErrorCode.DataDirExists, `${paths.root} is already initialised (use --force to change its config)`)
  }
  if (previous != null) await assertUnlocked(paths.lock, paths.root)
  const held = await exists(paths.run) ? await loadRun(paths) : undefined
  if (held != null && opts.manifest != null && held.runId !== opts.manifest.runId) {
    throw new DaemonError(DaemonErrorCode.BadConfig, `${paths.root} belongs to run ${held.runId} ("${held.body.name}"), not ${opts.manifest.runId} ("${opts.manifest.body.name}"): use a new data directory for another run`, 'run')
  }
  const manifest = opts.manifest ?? held
  if (manifest == null) {
    throw new DaemonError(DaemonErrorCode.NoRun, `init: ${paths.root} belongs to no run yet: pass --run run.json (the manifest a run's admin sends you), or create a run with \`tapestry run create\``)
  }
  const old = { ...(previous?.config ?? {}) }
  for (const k of MOVED_TO_MANIFEST) delete old[k]
  // the manifest's settings are the base: a node's own values may only repeat them
  const merged: Record<string, unknown> = { ...manifest.body.settings, ...old, ...opts.config }
  for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k]
  const parsed = parseNodeConfig(merged, 'init')
  assertSettingsAgree(manifest, runSettingsOf(parsed))
  checkRuleFeasible(manifest.body.settings, Math.max(manifest.body.members.length, manifest.body.minMembers))
  const config = { ...parsed, listen: await pinListenPorts(parsed.listen) }
  const changed = Object.keys(config).filter(k => JSON.stringify((config as Record<string, unknown>)[k]) !== JSON.stringify(old[k]))

  const key = await ensureIdentity(dir)
  for (const d of [paths.blobs, paths.chain, paths.state, paths.peerstore, paths.membership]) await mkdir(d, { recursive: true })
  if (held == null) await saveManifest(paths, manifest)
  await writeFile(paths.config, JSON.stringify(config, null, 2) + '\n')
  if (!await exists(paths.token)) await writeFile(paths.token, randomBytes(32).toString('hex') + '\n', { mode: 0o600 })
  return { peerId: peerIdFromPrivateKey(key).toString(), paths, runId: manifest.runId, changed, ...(previous?.unreadable != null ? { replacedUnreadable: previous.unreadable } : {}) }
}

/**
 * Listen addresses with TCP or UDP (QUIC) port 0 get a port that is free now, written into the config: the
 * address handed to partners then stays valid across restarts (a port 0 would change each start).
 */
async function pinListenPorts (listen: string[]): Promise<string[]> {
  const out: string[] = []
  for (const a of listen) {
    const m = /^\/(ip4|ip6)\/([^/]+)\/(tcp|udp)\/0(\/.*)?$/.exec(a)
    if (m == null) { out.push(a); continue }
    const port = m[3] === 'tcp' ? await freeTcpPort(m[2]) : await freeUdpPort(m[2], m[1] === 'ip6' ? 'udp6' : 'udp4')
    out.push(`/${m[1]}/${m[2]}/${m[3]}/${port}${m[4] ?? ''}`)
  }
  return out
}

/** A UDP port free on `host` now (QUIC listens on UDP). */
async function freeUdpPort (host: string, type: 'udp4' | 'udp6'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createSocket(type)
    s.once('error', reject)
    s.bind(0, host, () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

/** A TCP port free on `host` now (the OS picks it). */
export async function freeTcpPort (host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const a = s.address()
      const port = typeof a === 'object' && a != null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

/** The existing config file as a plain object; an unreadable one is reported, not fatal (--force is how it gets fixed). */
async function readPreviousConfig (path: string): Promise<{ config: Record<string, unknown>, unreadable?: string } | undefined> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch { return undefined }
  try {
    const obj = JSON.parse(text) as unknown
    if (obj != null && typeof obj === 'object' && !Array.isArray(obj)) return { config: obj as Record<string, unknown> }
    return { config: {}, unreadable: 'not a JSON object' }
  } catch (err) {
    return { config: {}, unreadable: (err as Error).message }
  }
}

export async function loadIdentity (paths: DataDirPaths): Promise<PrivateKey> {
  let bytes: Uint8Array
  try { bytes = await readFile(paths.identity) } catch {
    throw new DaemonError(DaemonErrorCode.NoDataDir, `${paths.root} has no identity key (run \`tapestry init --data-dir ${paths.root}\`)`)
  }
  try { return privateKeyFromProtobuf(bytes) } catch (err) {
    throw new DaemonError(DaemonErrorCode.BadIdentity, `${paths.identity} is not a libp2p private key: ${(err as Error).message}`)
  }
}

export async function readToken (paths: DataDirPaths): Promise<string> {
  try { return (await readFile(paths.token, 'utf8')).trim() } catch {
    throw new DaemonError(DaemonErrorCode.NoDataDir, `${paths.root} has no control token (run \`tapestry init\`)`)
  }
}

export interface ControlInfo { port: number, pid: number, peerId: string, /** metrics and status page (ops-server.ts) */ opsPort?: number }

/** Atomic: a CLI reading it while the daemon starts sees the whole file or none. */
export async function writeControlInfo (paths: DataDirPaths, info: ControlInfo): Promise<void> {
  await writeFileAtomic(paths.control, JSON.stringify(info) + '\n')
}

/**
 * The running daemon's control port. A daemon that was killed (SIGKILL, power cut) left its file
 * behind: a pid that is gone means no daemon, not a port to try (another process may hold it now).
 */
export async function readControlInfo (paths: DataDirPaths): Promise<ControlInfo> {
  const notRunning = (why: string): DaemonError => new DaemonError(DaemonErrorCode.NotRunning, `no daemon running for ${paths.root}${why} (start one with \`tapestry start --data-dir ${paths.root}\`)`)
  let info: ControlInfo
  try { info = JSON.parse(await readFile(paths.control, 'utf8')) as ControlInfo } catch {
    throw notRunning('')
  }
  if (!Number.isSafeInteger(info?.pid) || !pidAlive(info.pid)) throw notRunning(`: daemon pid ${String(info?.pid)} that wrote ${paths.control} is gone`)
  return info
}

export async function clearControlInfo (paths: DataDirPaths): Promise<void> {
  await rm(paths.control, { force: true })
}
