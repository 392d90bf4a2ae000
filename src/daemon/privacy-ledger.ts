// How many updates this node has released under differential privacy, kept on disk so a restart
// never resets the ε it reports (the accountant composes over every release, across processes).
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { epsilonFor, type PrivacySettings } from '../privacy/index.js'

export class PrivacyLedger {
  private constructor (private readonly file: string, private readonly settings: PrivacySettings, private count: number) {}

  static async open (stateDir: string, settings: PrivacySettings): Promise<PrivacyLedger> {
    const file = join(stateDir, 'privacy.json')
    let count = 0
    try {
      const v = JSON.parse(await readFile(file, 'utf8')) as { releases?: unknown }
      if (typeof v.releases === 'number' && Number.isInteger(v.releases) && v.releases >= 0) count = v.releases
    } catch {}
    return new PrivacyLedger(file, settings, count)
  }

  get releases (): number { return this.count }

  /** One more noised update left this node: recorded before it is published. */
  async release (): Promise<void> {
    this.count++
    const tmp = `${this.file}.tmp`
    await writeFile(tmp, JSON.stringify({ releases: this.count }))
    await rename(tmp, this.file)
  }

  /** ε at the run's δ over every release so far (0 before the first). */
  view (): { epsilon: number, delta: number, releases: number, clipNorm: number, noiseMultiplier: number } {
    const s = this.settings
    const epsilon = this.count === 0 ? 0 : epsilonFor({ noiseMultiplier: s.noiseMultiplier, sampleRate: s.sampleRate, steps: this.count, delta: s.delta }).epsilon
    return { epsilon, delta: s.delta, releases: this.count, clipNorm: s.clipNorm, noiseMultiplier: s.noiseMultiplier }
  }
}
