// A node's data directory: identity key, config, control token, and where the stores live.
import { mkdir, readFile, writeFile, stat, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { parseNodeConfig, type NodeConfig } from './config.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

export interface DataDirPaths {
  root: string
  identity: string
  config: string
  token: string
  /** written by a running daemon: {port, pid, peerId} */
  control: string
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
  /** settings written to config.json; `members` defaults to this node alone */
  config: Partial<NodeConfig> & { runId: string }
  /** replace an existing config (the identity key is always kept) */
  force?: boolean
}

/** Creates (or, with force, re-configures) a data directory; returns the node's peer id. */
export async function initDataDir (dir: string, opts: InitOptions): Promise<{ peerId: string, paths: DataDirPaths }> {
  const paths = dataDirPaths(dir)
  if (await exists(paths.config) && opts.force !== true) {
    throw new DaemonError(DaemonErrorCode.DataDirExists, `${paths.root} is already initialised (use --force to rewrite its config)`)
  }
  await mkdir(paths.root, { recursive: true, mode: 0o700 })
  for (const d of [paths.blobs, paths.chain, paths.state, paths.peerstore]) await mkdir(d, { recursive: true })
  let key: PrivateKey
  if (await exists(paths.identity)) key = await loadIdentity(paths)
  else {
    key = await generateKeyPair('Ed25519')
    await writeFile(paths.identity, privateKeyToProtobuf(key), { mode: 0o600 })
  }
  const peerId = peerIdFromPrivateKey(key).toString()
  const config = parseNodeConfig({ members: [peerId], ...opts.config }, 'init')
  await writeFile(paths.config, JSON.stringify(config, null, 2) + '\n')
  if (!await exists(paths.token)) await writeFile(paths.token, randomBytes(32).toString('hex') + '\n', { mode: 0o600 })
  return { peerId, paths }
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
