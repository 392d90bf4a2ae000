// Evidence: a signed record of a fault this node proved — a wrong fold, a censoring commit, or two
// different commits for one round by one author — that any member can check from the record and
// the accused's own signatures (protocols/evidence.md).
import { createHash } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { decodeAnnounce, decodeCommit } from '../net/index.js'
import { canonicalBytes, signValue, signerOf, verifyValue, PeerIdString, RunIdString, SignatureString, IsoTime } from '../manifest/index.js'
import type { Announce, Commit } from '../round/index.js'
import { DaemonError, DaemonErrorCode } from './errors.js'
import type { PrivateKey } from '@libp2p/interface'

export const EVIDENCE_VERSION = 1
/** records kept per node; a flood of faults cannot fill the disk */
export const MAX_EVIDENCE_RECORDS = 1000
const MAX_ENVELOPE_B64 = 4 * 1024 * 1024

const Envelope = z.string().max(MAX_ENVELOPE_B64).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64')

export const EvidenceSchema = z.strictObject({
  version: z.literal(EVIDENCE_VERSION),
  kind: z.enum(['wrong-fold', 'censorship', 'equivocation']),
  runId: RunIdString,
  round: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  accused: PeerIdString,
  /** the refusal code the reporter's verification gave (ERR_ROUND_REFUSED_…) */
  code: z.string().max(100),
  reason: z.string().max(1000),
  /** the accused's signed commit envelopes (protocols/signed.proto), base64: one, or two for equivocation */
  commits: z.array(Envelope).min(1).max(2),
  /** censorship: the signed announce of the update the commit left out */
  announce: Envelope.optional(),
  reporter: PeerIdString,
  at: IsoTime,
  signature: SignatureString
})

export type Evidence = z.output<typeof EvidenceSchema>
export type EvidenceInput = Omit<Evidence, 'version' | 'reporter' | 'at' | 'signature'>

/** What a check of a record establishes. */
export interface EvidenceCheck {
  evidence: Evidence
  /**
   * 'proven': the accused's own signatures prove the fault (equivocation; a censoring commit that
   * lists neither included nor excluded an update whose signed announce extends the same model);
   * 'reported': signatures hold, the fault is the reporter's refold (needs the round's blobs to redo)
   */
  verdict: 'proven' | 'reported'
  detail: string
}

/** Sign a record of a fault this node proved. */
export async function makeEvidence (input: EvidenceInput, key: PrivateKey, at = new Date()): Promise<Evidence> {
  const unsigned = { version: EVIDENCE_VERSION, ...input, reporter: signerOf(key), at: at.toISOString() }
  return EvidenceSchema.parse({ ...unsigned, signature: await signValue('evidence', unsigned, key) })
}

const bad = (message: string): DaemonError => new DaemonError(DaemonErrorCode.BadEvidence, message)

/**
 * Check a record: its shape, the reporter's signature, and every enclosed envelope against the
 * accused's key (author, run and round as the record says); then what the envelopes alone prove.
 * Throws ERR_DAEMON_BAD_EVIDENCE for a record that does not hold up.
 */
export async function checkEvidence (value: unknown, runId?: string): Promise<EvidenceCheck> {
  const r = EvidenceSchema.safeParse(value)
  if (!r.success) throw bad(`not an evidence record: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`)
  const e = r.data
  if (runId !== undefined && e.runId !== runId) throw bad(`evidence of run ${e.runId}, not ${runId}`)
  const { signature, ...unsigned } = e
  if (!await verifyValue('evidence', unsigned, e.reporter, signature)) throw bad(`evidence signature does not verify against its reporter ${e.reporter}`)
  const commits: Commit[] = []
  for (const b64 of e.commits) {
    let c: Commit
    try { c = (await decodeCommit(Buffer.from(b64, 'base64'))).message } catch (err) { throw bad(`enclosed commit does not verify: ${(err as Error).message}`) }
    if (c.aggregator !== e.accused || c.round !== e.round || c.runId !== e.runId) throw bad(`enclosed commit is ${c.aggregator}'s of round ${c.round}, not the accused's of round ${e.round}`)
    commits.push(c)
  }
  if (e.kind === 'equivocation') {
    if (commits.length !== 2 || e.commits[0] === e.commits[1]) throw bad('equivocation needs two different signed commits')
    const [a, b] = commits
    // payloads are canonical (gossip.md §4) and Ed25519 is deterministic: different envelopes say different things
    return { evidence: e, verdict: 'proven', detail: `${e.accused} signed two commits for round ${e.round}: models ${a.newModelId} and ${b.newModelId}` }
  }
  if (commits.length !== 1) throw bad(`${e.kind} encloses one commit`)
  const c = commits[0]
  if (e.kind === 'censorship' && e.announce !== undefined) {
    let a: Announce
    try { a = (await decodeAnnounce(Buffer.from(e.announce, 'base64'))).message } catch (err) { throw bad(`enclosed announce does not verify: ${(err as Error).message}`) }
    const listed = c.included.some(u => u.updateId === a.updateId) || (c.excluded ?? []).some(x => x.updateId === a.updateId && x.reason !== 'late')
    if (a.round === c.round && a.baseModelId === c.prevModelId && !listed) {
      return { evidence: e, verdict: 'proven', detail: `${e.accused}'s commit of round ${e.round} leaves out ${a.peerId}'s signed update ${a.updateId} without a reason that holds` }
    }
    throw bad('the enclosed announce does not show an update the commit left out')
  }
  return { evidence: e, verdict: 'reported', detail: `${e.reporter} refolded ${e.accused}'s commit of round ${e.round}: ${e.reason}` }
}

/** The node's evidence directory: one JSON file per record, written atomically, bounded in number. */
export class EvidenceStore {
  constructor (private readonly dir: string) {}

  /** Keep a record (once: its file name is its content hash); false when the store is full or holds it already. */
  async add (e: Evidence): Promise<boolean> {
    await mkdir(this.dir, { recursive: true })
    const names = await readdir(this.dir)
    const name = `${e.round}-${e.kind}-${createHash('sha256').update(canonicalBytes(e)).digest('hex').slice(0, 16)}.json`
    if (names.includes(name) || names.filter(n => n.endsWith('.json')).length >= MAX_EVIDENCE_RECORDS) return false
    const tmp = join(this.dir, `.${name}.tmp`)
    await writeFile(tmp, JSON.stringify(e, null, 2) + '\n')
    const fh = await open(tmp, 'r')
    try { await fh.sync() } finally { await fh.close() }
    await rename(tmp, join(this.dir, name))
    return true
  }

  /** Every record held, by file name; unreadable files are reported, not hidden. */
  async list (): Promise<Array<{ file: string, value: unknown, error?: string }>> {
    let names: string[]
    try { names = (await readdir(this.dir)).filter(n => n.endsWith('.json')).sort() } catch { return [] }
    const out: Array<{ file: string, value: unknown, error?: string }> = []
    for (const n of names) {
      const file = join(this.dir, n)
      try { out.push({ file, value: JSON.parse(await readFile(file, 'utf8')) }) } catch (err) { out.push({ file, value: undefined, error: (err as Error).message }) }
    }
    return out
  }
}
