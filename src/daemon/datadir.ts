// A node's data directory: identity key, config, control token, and where the stores live.
import { mkdir, readFile, writeFile, stat, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { parseNodeConfig, type NodeConfig } from './config.js'
import { DaemonError, DaemonErrorCode } from './errors.js'
import { assertUnlocked } from './lock.js'

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
    log: join(root, 'daemon.log')
  }
}

export const DEFAULT_DATA_DIR = '.tapestry'

async function exists (p: string): Promise<boolean> {
  try { await stat(p); return true } catch { return false }
}

export interface InitOptions {
  /**
   * settings for config.json; `members` defaults to this node alone. With `force` on an initialised
   * dir they are merged over the existing config (a field set to null goes back to its default).
   */
  config: Partial<{ [K in keyof NodeConfig]: NodeConfig[K] | null }>
  /** re-configure an existing data directory (the identity key and token are always kept) */
  force?: boolean
}

export interface InitResult {
  peerId: string
  paths: DataDirPaths
  /** fields whose value differs from the previous config (all of them for a fresh dir) */
  changed: string[]
  /** set when a previous config existed but could not be read as JSON, so nothing of it was kept */
  replacedUnreadable?: string
}

/**
 * Creates (or, with force, re-configures) a data directory; returns the node's peer id. A forced
 * re-configure while a daemon holds the dir is refused (DATA_DIR_LOCKED): the daemon would go on
 * with the config it read at start while the operator believes it changed.
 */
export async function initDataDir (dir: string, opts: InitOptions): Promise<InitResult> {
  const paths = dataDirPaths(dir)
  const previous = await readPreviousConfig(paths.config)
  if (previous != null && opts.force !== true) {
    throw new DaemonError(DaemonErrorCode.DataDirExists, `${paths.root} is already initialised (use --force to change its config)`)
  }
  if (previous != null) await assertUnlocked(paths.lock, paths.root)
  const old = previous?.config ?? {}
  // before anything is written: a refused init leaves no half data dir behind
  if ((opts.config.runId ?? old.runId) == null) throw new DaemonError(DaemonErrorCode.BadConfig, 'init: runId is required (--run-id)')
  await mkdir(paths.root, { recursive: true, mode: 0o700 })
  for (const d of [paths.blobs, paths.chain, paths.state, paths.peerstore]) await mkdir(d, { recursive: true })
  let key: PrivateKey
  if (await exists(paths.identity)) key = await loadIdentity(paths)
  else {
    key = await generateKeyPair('Ed25519')
    await writeFile(paths.identity, privateKeyToProtobuf(key), { mode: 0o600 })
  }
  const peerId = peerIdFromPrivateKey(key).toString()
  const merged: Record<string, unknown> = { members: [peerId], ...old, ...opts.config }
  for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k]
  const config = parseNodeConfig(merged, 'init')
  const changed = Object.keys(config).filter(k => JSON.stringify((config as Record<string, unknown>)[k]) !== JSON.stringify(old[k]))
  await writeFile(paths.config, JSON.stringify(config, null, 2) + '\n')
  if (!await exists(paths.token)) await writeFile(paths.token, randomBytes(32).toString('hex') + '\n', { mode: 0o600 })
  return { peerId, paths, changed, ...(previous?.unreadable != null ? { replacedUnreadable: previous.unreadable } : {}) }
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

export interface ControlInfo { port: number, pid: number, peerId: string }

export async function writeControlInfo (paths: DataDirPaths, info: ControlInfo): Promise<void> {
  await writeFile(paths.control, JSON.stringify(info) + '\n')
}

export async function readControlInfo (paths: DataDirPaths): Promise<ControlInfo> {
  try { return JSON.parse(await readFile(paths.control, 'utf8')) as ControlInfo } catch {
    throw new DaemonError(DaemonErrorCode.NotRunning, `no daemon running for ${paths.root} (start one with \`tapestry start --data-dir ${paths.root}\`)`)
  }
}

export async function clearControlInfo (paths: DataDirPaths): Promise<void> {
  await rm(paths.control, { force: true })
}
