// Creating a run: a manifest signed by this data directory's key (creator, first admin and member),
// and the data directory set up for it. Shared by `tapestry run create`, the local cluster and tests.
import { stat } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createManifest, type SignedManifest } from '../manifest/index.js'
import { RUN_SETTING_KEYS } from '../round/index.js'
import { dataDirPaths, ensureIdentity, initDataDir, type InitResult } from './datadir.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

export interface CreateRunOptions {
  name: string
  /** run settings and node config fields mixed: settings go into the manifest, the rest into config.json */
  fields?: Record<string, unknown>
  /** other founding members (peer ids); the creator always is one */
  members?: string[]
  /** declared fold weights (examples each member trains on), by peer id; a member not named weighs 1 */
  samples?: Readonly<Record<string, number>>
  /** the creator's own declared fold weight (absent: 1) */
  selfSamples?: number
  /** other admins (peer ids); the creator always is one */
  admins?: string[]
  /** @default 1 */
  minMembers?: number
  /** @default now */
  createdAt?: Date
}

/** Split mixed fields into run settings (the manifest's) and node config (config.json's). */
export function splitFields (fields: Record<string, unknown>): { settings: Record<string, unknown>, local: Record<string, unknown> } {
  const settings: Record<string, unknown> = {}
  const local: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) ((RUN_SETTING_KEYS as string[]).includes(k) ? settings : local)[k] = v
  return { settings, local }
}

export async function createRun (dataDir: string, o: CreateRunOptions): Promise<{ manifest: SignedManifest, init: InitResult }> {
  const paths = dataDirPaths(dataDir)
  if (await stat(paths.run).then(() => true, () => false)) {
    throw new DaemonError(DaemonErrorCode.DataDirExists, `${paths.root} already belongs to a run (${paths.run}): use another --data-dir for a new run`)
  }
  const { settings, local } = splitFields(o.fields ?? {})
  const key = await ensureIdentity(dataDir)
  const self = peerIdFromPrivateKey(key).toString()
  const manifest = await createManifest({
    name: o.name,
    settings,
    members: [...new Set([self, ...(o.members ?? [])])].map(peerId => ({ peerId, samples: peerId === self ? o.selfSamples ?? o.samples?.[peerId] : o.samples?.[peerId] })),
    admins: o.admins ?? [],
    minMembers: o.minMembers ?? 1,
    createdAt: o.createdAt ?? new Date()
  }, key)
  const init = await initDataDir(dataDir, { config: local, manifest, force: true })
  return { manifest, init }
}
