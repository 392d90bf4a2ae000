// The run a data directory belongs to: its signed manifest (run.json) and the admissions and
// membership changes it has seen (membership/<hash>.json), read back and checked on every start.
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { canonicalJson, verifyManifest, verifyRosterDoc, Roster, ManifestError, type RosterDoc, type SignedManifest } from '../manifest/index.js'
import { DaemonError, DaemonErrorCode } from './errors.js'
import type { DataDirPaths } from './datadir.js'

/** The JSON a signed manifest is written as (also what `tapestry run create --out` writes). */
export function manifestJson (m: SignedManifest): string {
  return JSON.stringify({ body: m.body, runId: m.runId, signature: m.signature }, null, 2) + '\n'
}

/** Read and check a manifest file: ERR_DAEMON_NO_RUN when absent, the manifest's own codes when it is not valid. */
export async function readManifestFile (path: string): Promise<SignedManifest> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new DaemonError(DaemonErrorCode.NoRun, `cannot read run manifest ${path}: ${(err as Error).message}`)
  }
  try {
    return await verifyManifest(text)
  } catch (err) {
    if (err instanceof ManifestError) err.message = `${path}: ${err.message}`
    throw err
  }
}

/** The data directory's manifest; a data dir without one was never set up for a run. */
export async function loadRun (paths: DataDirPaths): Promise<SignedManifest> {
  try {
    return await readManifestFile(paths.run)
  } catch (err) {
    if (err instanceof DaemonError && err.code === DaemonErrorCode.NoRun) {
      throw new DaemonError(DaemonErrorCode.NoRun, `${paths.root} belongs to no run: set it up with \`tapestry init --run run.json\` (the manifest a run's admin sends) or create a run with \`tapestry run create\``)
    }
    throw err
  }
}

export async function saveManifest (paths: DataDirPaths, m: SignedManifest): Promise<void> {
  await atomicWrite(paths.run, manifestJson(m))
}

const docFile = (doc: unknown): string => `${createHash('sha256').update(canonicalJson(doc)).digest('hex').slice(0, 32)}.json`

/** Keeps a checked admission or membership change; a copy of one held already is one file. */
export async function saveRosterDoc (paths: DataDirPaths, d: RosterDoc): Promise<void> {
  await mkdir(paths.membership, { recursive: true })
  await atomicWrite(join(paths.membership, docFile(d.doc)), JSON.stringify(d.doc) + '\n')
}

export interface LoadedRoster {
  roster: Roster
  /** files that are not (or no longer) valid documents of this run, with why: skipped, never fatal */
  skipped: Array<{ file: string, reason: string }>
}

/** The roster of the data dir: the manifest plus every membership document that still checks. */
export async function loadRoster (paths: DataDirPaths, manifest: SignedManifest, now: number): Promise<LoadedRoster> {
  const roster = new Roster(manifest)
  const skipped: LoadedRoster['skipped'] = []
  let files: string[] = []
  try { files = (await readdir(paths.membership)).filter(f => f.endsWith('.json')).sort() } catch {}
  for (const f of files) {
    try {
      roster.add(await verifyRosterDoc(manifest, JSON.parse(await readFile(join(paths.membership, f), 'utf8')), now))
    } catch (err) {
      skipped.push({ file: f, reason: (err as Error).message })
    }
  }
  return { roster, skipped }
}

async function atomicWrite (path: string, text: string): Promise<void> {
  // unique per write: two writers of one document (gossip and the control API at once) must not share a temp file
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  await writeFile(tmp, text)
  await rename(tmp, path)
}
