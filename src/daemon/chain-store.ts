// The node's durable state: the commit chain (append-only, fsynced) and a snapshot of the round
// engine after every applied commit, so a restart resumes at the last committed round.
import { appendFile, mkdir, open, readFile, rename, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { layoutToString, type ParamLayout } from '../tensor/index.js'
import { saveCheckpoint, loadCheckpoint, TrainError, TrainErrorCode } from '../train/index.js'
import type { Commit, EngineSnapshot, Member } from '../round/index.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

export interface StoredCommit {
  commit: Commit
  /** the signed wire bytes (base64), so the chain can be served to late joiners as received */
  signed: string
}

export class ChainStore {
  private readonly commitsPath: string
  private readonly snapshotPath: string
  private commits: StoredCommit[] = []

  constructor (chainDir: string, stateDir: string) {
    this.commitsPath = join(chainDir, 'commits.jsonl')
    this.snapshotPath = join(stateDir, 'engine.ck')
  }

  async open (): Promise<void> {
    await mkdir(join(this.commitsPath, '..'), { recursive: true })
    await mkdir(join(this.snapshotPath, '..'), { recursive: true })
    let text = ''
    try { text = await readFile(this.commitsPath, 'utf8') } catch { text = '' }
    const lines = text.split('\n')
    this.commits = []
    let goodBytes = 0 // bytes up to and including the newline of the last line kept
    for (let i = 0; i < lines.length; i++) {
      const lineBytes = Buffer.byteLength(lines[i]) + (i < lines.length - 1 ? 1 : 0)
      if (lines[i].trim() !== '') {
        try {
          this.commits.push(JSON.parse(lines[i]) as StoredCommit)
        } catch {
          // a torn last line from a crash mid-append is dropped; corruption elsewhere is fatal
          if (i >= lines.length - 2) break
          throw new DaemonError(DaemonErrorCode.StoreCorrupt, `${this.commitsPath}: line ${i + 1} is not JSON`, undefined, { line: i + 1 })
        }
      }
      goodBytes += lineBytes
    }
    // cut a torn tail, and end a complete last line: the next append must start a line of its
    // own, or it would glue onto the tail and make a recoverable crash corruption mid-file
    if (goodBytes < Buffer.byteLength(text)) await truncate(this.commitsPath, goodBytes)
    else if (text !== '' && !text.endsWith('\n')) await appendFile(this.commitsPath, '\n')
  }

  get all (): readonly StoredCommit[] { return this.commits }
  get latest (): StoredCommit | undefined { return this.commits[this.commits.length - 1] }

  async append (c: StoredCommit): Promise<void> {
    if (this.commits.some(x => x.commit.round === c.commit.round)) return
    await appendFile(this.commitsPath, JSON.stringify(c) + '\n')
    const fh = await open(this.commitsPath, 'r')
    await fh.sync()
    await fh.close()
    this.commits.push(c)
  }

  /**
   * Fork choice moved this node to another branch from `round` on: its own commits of those rounds
   * are moved to `forks/<round>-<time>.jsonl` beside the chain (evidence, never served), and the
   * chain ends before `round`. The new file is written and fsynced first, then the chain is rewritten
   * through a temporary file and a rename, so a crash leaves either chain whole.
   */
  async rewind (round: number, now = Date.now()): Promise<string | undefined> {
    const abandoned = this.commits.filter(c => c.commit.round >= round)
    if (abandoned.length === 0) return undefined
    const forks = join(this.commitsPath, '..', 'forks')
    await mkdir(forks, { recursive: true })
    const kept = this.commits.filter(c => c.commit.round < round)
    const evidence = join(forks, `${round}-${now}.jsonl`)
    await writeSynced(evidence, abandoned.map(c => JSON.stringify(c) + '\n').join(''))
    const tmp = this.commitsPath + '.tmp'
    await writeSynced(tmp, kept.map(c => JSON.stringify(c) + '\n').join(''))
    await rename(tmp, this.commitsPath)
    this.commits = kept
    return evidence
  }

  async saveSnapshot (s: EngineSnapshot, layout: ParamLayout): Promise<void> {
    const vectors: Record<string, Float32Array> = { params: s.chain.params }
    if (s.chain.outer.velocity != null) vectors.velocity = s.chain.outer.velocity
    if (s.codec.residual != null) vectors.residual = s.codec.residual
    await saveCheckpoint(this.snapshotPath, {
      layout: layoutToString(layout),
      meta: {
        round: s.chain.round,
        modelId: s.chain.modelId,
        outerStep: s.chain.outer.step,
        electorate: s.chain.electorate,
        codec: { seed: s.codec.seed, round: s.codec.round }
      },
      vectors
    })
  }

  /** The last snapshot, or undefined for a fresh node; a corrupt one is an error, not a silent reset. */
  async loadSnapshot (layout: ParamLayout): Promise<EngineSnapshot | undefined> {
    let ck
    try {
      ck = await loadCheckpoint(this.snapshotPath, layout)
    } catch (err) {
      if (err instanceof TrainError && err.code === TrainErrorCode.CheckpointIo) return undefined
      throw new DaemonError(DaemonErrorCode.StoreCorrupt, `engine snapshot: ${(err as Error).message}`)
    }
    const m = ck.meta as { round: number, modelId: string, outerStep: number, electorate: Member[], codec: { seed?: number, round?: number } }
    return {
      chain: {
        round: m.round,
        modelId: m.modelId,
        params: ck.vectors.params,
        outer: { step: m.outerStep, velocity: ck.vectors.velocity ?? null },
        electorate: m.electorate
      },
      codec: { ...m.codec, residual: ck.vectors.residual }
    }
  }
}

async function writeSynced (path: string, text: string): Promise<void> {
  await writeFile(path, text)
  const fh = await open(path, 'r')
  try { await fh.sync() } finally { await fh.close() }
}
