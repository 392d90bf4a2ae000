// How many updates this node has released under differential privacy, kept on disk so a restart
// never resets the ε it reports (the accountant composes over every release, across processes).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { epsilonFor, type PrivacySettings } from '../privacy/index.js'
import { removeStaleTemps, writeFileAtomic } from './atomic-file.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

export class PrivacyLedger {
  /** writes in call order: two releases racing on one temp file could store the lower count last */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor (private readonly file: string, private readonly settings: PrivacySettings, private count: number) {}

  /**
   * An absent ledger is a node that released nothing yet; an unreadable or corrupt one is an
   * error (ERR_DAEMON_STORE_CORRUPT): counting from 0 again would under-report ε.
   */
  static async open (stateDir: string, settings: PrivacySettings): Promise<PrivacyLedger> {
    const file = join(stateDir, 'privacy.json')
    await removeStaleTemps(stateDir)
    let text: string
    try { text = await readFile(file, 'utf8') } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new PrivacyLedger(file, settings, 0)
      throw new DaemonError(DaemonErrorCode.StoreCorrupt, `${file} is unreadable: ${(err as Error).message}`, undefined, { cause: err })
    }
    let releases: unknown
    try { releases = (JSON.parse(text) as { releases?: unknown }).releases } catch {}
    if (typeof releases !== 'number' || !Number.isSafeInteger(releases) || releases < 0) {
      throw new DaemonError(DaemonErrorCode.StoreCorrupt, `${file} holds no release count (${JSON.stringify(text.slice(0, 40))}): restore it or set its count by hand; a reset would under-report ε`)
    }
    return new PrivacyLedger(file, settings, releases)
  }

  get releases (): number { return this.count }

  /** One more noised update leaves this node: recorded durably before it is published. */
  async release (): Promise<void> {
    this.count++
    const count = this.count
    const write = this.queue.then(async () => { await writeFileAtomic(this.file, JSON.stringify({ releases: count })) })
    this.queue = write.catch(() => {})
    await write
  }

  /** ε at the run's δ over every release so far (0 before the first). */
  view (): { epsilon: number, delta: number, releases: number, clipNorm: number, noiseMultiplier: number } {
    const s = this.settings
    const epsilon = this.count === 0 ? 0 : epsilonFor({ noiseMultiplier: s.noiseMultiplier, sampleRate: s.sampleRate, steps: this.count, delta: s.delta }).epsilon
    return { epsilon, delta: s.delta, releases: this.count, clipNorm: s.clipNorm, noiseMultiplier: s.noiseMultiplier }
  }
}
