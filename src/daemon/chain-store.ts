// The node's durable state: the commit chain (append-only, fsynced) and a snapshot of the round
// engine after every applied commit, so a restart resumes at the last committed round.
import { appendFile, mkdir, open, readFile, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { layoutToString, type ParamLayout } from '../tensor/index.js'
import { decodeCheckpoint, encodeCheckpoint } from '../train/index.js'
import type { Commit, EngineSnapshot, Member } from '../round/index.js'
import { removeStaleTemps, syncDir, writeFileAtomic } from './atomic-file.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

export interface StoredCommit {
  commit: Commit
  /** the signed wire bytes (base64), so the chain can be served to late joiners as received */
  signed: string
}

/**
 * The snapshot is the commit point: a commit is appended to the log before the snapshot of the
 * state it leads to is written, so after a crash the log may hold commits the snapshot does not
 * cover (one, or a whole adopted sync). `rollBackTo` drops them at start; peers serve them again.
 * Every write goes through one queue: concurrent writers (a sync adopted while a commit is being
 * persisted) would otherwise store a round twice or interleave two snapshots in one file.
 */
export class ChainStore {
  private readonly commitsPath: string
  private readonly snapshotPath: string
  private commits: StoredCommit[] = []
  /** byte offset in the log where each commit's line starts */
  private offsets: number[] = []
  private logBytes = 0
  private queue: Promise<unknown> = Promise.resolve()

  constructor (private readonly chainDir: string, private readonly stateDir: string) {
    this.commitsPath = join(chainDir, 'commits.jsonl')
    this.snapshotPath = join(stateDir, 'engine.ck')
  }

  async open (): Promise<void> {
    for (const dir of [this.chainDir, this.stateDir]) {
      await mkdir(dir, { recursive: true })
      // a snapshot write cut short by a kill leaves its temp file (the size of the model) behind
      await removeStaleTemps(dir)
    }
    let text = ''
    try { text = await readFile(this.commitsPath, 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(this.commitsPath, err)
      // created (and its name made durable) before the first append relies on it
      await appendFile(this.commitsPath, '')
      await syncDir(this.chainDir)
    }
    const lines = text.split('\n')
    this.commits = []
    this.offsets = []
    let goodBytes = 0 // bytes up to and including the newline of the last line kept
    for (let i = 0; i < lines.length; i++) {
      const lineBytes = Buffer.byteLength(lines[i]) + (i < lines.length - 1 ? 1 : 0)
      if (lines[i].trim() !== '') {
        try {
          this.commits.push(revived(JSON.parse(lines[i]) as StoredCommit))
          this.offsets.push(goodBytes)
        } catch {
          // a torn last line from a crash mid-append is dropped; corruption elsewhere is fatal
          if (i >= lines.length - 2) break
          throw new DaemonError(DaemonErrorCode.StoreCorrupt, `${this.commitsPath}: line ${i + 1} is not JSON`, undefined, { line: i + 1 })
        }
      }
      goodBytes += lineBytes
    }
    this.logBytes = goodBytes
    // cut a torn tail, and end a complete last line: the next append must start a line of its
    // own, or it would glue onto the tail and make a recoverable crash corruption mid-file
    if (goodBytes < Buffer.byteLength(text)) await this.cut(goodBytes)
    else if (text !== '' && !text.endsWith('\n')) {
      await appendFile(this.commitsPath, '\n')
      this.logBytes++
    }
  }

  get all (): readonly StoredCommit[] { return this.commits }
  get latest (): StoredCommit | undefined { return this.commits[this.commits.length - 1] }

  /** Appends a commit (fsynced) unless its round is stored already. */
  async append (c: StoredCommit): Promise<void> {
    await this.appendAll([c])
  }

  /**
   * Appends commits in round order, skipping rounds stored already, with one write and one fsync
   * (an adopted sync of hundreds of commits, not hundreds of fsyncs); a crash part-way leaves whole
   * lines and at most one torn last line, which `open` cuts.
   */
  async appendAll (cs: readonly StoredCommit[]): Promise<void> {
    await this.serial(async () => {
      const fresh: StoredCommit[] = []
      // the log is one chain, round after round, so the rounds it holds are [first, last]
      let first = this.commits[0]?.commit.round
      let last = this.commits[this.commits.length - 1]?.commit.round
      for (const c of cs) {
        const round = c.commit.round
        if (first != null && last != null && round >= first && round <= last) continue
        // a commit past a gap would be served as if it followed
        if (last != null && round !== last + 1) {
          throw new DaemonError(DaemonErrorCode.StoreCorrupt, `commit of round ${round} does not follow the stored round ${last}`)
        }
        fresh.push(c)
        first ??= round
        last = round
      }
      if (fresh.length === 0) return
      const lines = fresh.map(c => jsonLine(c) + '\n')
      const fh = await open(this.commitsPath, 'a')
      try {
        await fh.writeFile(lines.join(''))
        await fh.sync()
      } finally { await fh.close() }
      for (let i = 0; i < fresh.length; i++) {
        this.offsets.push(this.logBytes)
        this.logBytes += Buffer.byteLength(lines[i])
        this.commits.push(fresh[i])
      }
    })
  }

  /**
   * Drops the commits of rounds ≥ `round`: called at start with the snapshot's round, so the log
   * ends at the commit whose state the node resumes from. Returns how many were dropped.
   */
  async rollBackTo (round: number): Promise<number> {
    return await this.serial(async () => {
      const keep = this.commits.findIndex(c => c.commit.round >= round)
      if (keep < 0) return 0
      const dropped = this.commits.length - keep
      await this.cut(this.offsets[keep])
      this.commits.length = keep
      this.offsets.length = keep
      return dropped
    })
  }

  /**
   * Fork choice moved this node to another branch from `round` on: its own commits of those rounds
   * are moved to `forks/<round>-<time>.jsonl` beside the chain (evidence, never served), and the
   * chain ends before `round`. The new file is written and fsynced first, then the chain is rewritten
   * through a temporary file and a rename, so a crash leaves either chain whole.
   */
  async rewind (round: number, now = Date.now()): Promise<string | undefined> {
    return await this.serial(async () => {
      const abandoned = this.commits.filter(c => c.commit.round >= round)
      if (abandoned.length === 0) return undefined
      const forks = join(this.commitsPath, '..', 'forks')
      await mkdir(forks, { recursive: true })
      const kept = this.commits.filter(c => c.commit.round < round)
      const evidence = join(forks, `${round}-${now}.jsonl`)
      await writeFileAtomic(evidence, abandoned.map(c => jsonLine(c) + '\n').join(''))
      const lines = kept.map(c => jsonLine(c) + '\n')
      await writeFileAtomic(this.commitsPath, lines.join(''))
      this.commits = kept
      // the byte offsets rollBackTo cuts at follow the rewritten file
      this.offsets = []
      this.logBytes = 0
      for (const l of lines) { this.offsets.push(this.logBytes); this.logBytes += Buffer.byteLength(l) }
      return evidence
    })
  }

  async saveSnapshot (s: EngineSnapshot, layout: ParamLayout): Promise<void> {
    const vectors: Record<string, Float32Array> = { params: s.chain.params }
    if (s.chain.outer.velocity != null) vectors.velocity = s.chain.outer.velocity
    if (s.codec.residual != null) vectors.residual = s.codec.residual
    const bytes = encodeCheckpoint({
      layout: layoutToString(layout),
      meta: {
        round: s.chain.round,
        modelId: s.chain.modelId,
        outerStep: s.chain.outer.step,
        electorate: s.chain.electorate,
        banned: s.chain.banned,
        codec: { seed: s.codec.seed, round: s.codec.round }
      },
      vectors
    })
    await this.serial(async () => { await writeFileAtomic(this.snapshotPath, bytes) })
  }

  /** The last snapshot, or undefined for a fresh node; a corrupt or unreadable one is an error, not a silent reset. */
  async loadSnapshot (layout: ParamLayout): Promise<EngineSnapshot | undefined> {
    let bytes: Uint8Array
    try { bytes = await readFile(this.snapshotPath) } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw unreadable(this.snapshotPath, err)
    }
    let ck
    try {
      ck = decodeCheckpoint(bytes, layout)
    } catch (err) {
      throw new DaemonError(DaemonErrorCode.StoreCorrupt, `engine snapshot: ${(err as Error).message}`, undefined, { cause: err })
    }
    const m = ck.meta as { round: number, modelId: string, outerStep: number, electorate: Member[], banned?: string[], codec: { seed?: number, round?: number } }
    return {
      chain: {
        round: m.round,
        modelId: m.modelId,
        params: ck.vectors.params,
        outer: { step: m.outerStep, velocity: ck.vectors.velocity ?? null },
        electorate: m.electorate,
        ...(m.banned != null && m.banned.length > 0 ? { banned: m.banned } : {})
      },
      codec: { ...m.codec, residual: ck.vectors.residual }
    }
  }

  /** Shortens the log to `bytes`, durably. */
  private async cut (bytes: number): Promise<void> {
    await truncate(this.commitsPath, bytes)
    const fh = await open(this.commitsPath, 'r+')
    try { await fh.sync() } finally { await fh.close() }
    this.logBytes = bytes
  }

  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn)
    this.queue = run.catch(() => {})
    return await run
  }
}

function unreadable (path: string, err: unknown): DaemonError {
  return new DaemonError(DaemonErrorCode.StoreCorrupt, `${path} is unreadable: ${(err as Error).message}`, undefined, { cause: err })
}

/**
 * A stored commit as read back: the byte fields jsonLine wrote as base64 (announce signatures, the
 * equivocation proofs' envelopes) are bytes again, as in the commit the node applied, so a restart
 * changes nothing fork choice or a peer sees.
 */
function revived (s: StoredCommit): StoredCommit {
  const bytes = (v: unknown): Uint8Array => typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : v as Uint8Array
  for (const u of s.commit.included ?? []) if (u.announced != null) u.announced.signature = bytes(u.announced.signature)
  for (const e of s.commit.equivocations ?? []) { e.first = bytes(e.first); e.second = bytes(e.second) }
  return s
}

/** A stored commit as one JSON line; the bytes of equivocation proofs as base64 (the signed commit keeps them exactly). */
function jsonLine (c: StoredCommit): string {
  return JSON.stringify(c, (_k, v: unknown) => v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)
}
