// The node's round history on disk (`rounds.jsonl`, one JSON record per applied round), so
// `tapestry rounds` and `status` answer with the daemon stopped and a restart keeps its past.
import { appendFile, readFile } from 'node:fs/promises'
import type { RoundHistory } from './control-types.js'

export class RoundLog {
  private writes: Promise<void> = Promise.resolve()

  constructor (readonly path: string) {}

  /** Append one record; appends run one after another. A failure is reported, never thrown at the round. */
  append (h: RoundHistory, onError: (err: Error) => void = () => {}): Promise<void> {
    this.writes = this.writes.then(async () => { await appendFile(this.path, JSON.stringify(h) + '\n') }).catch(onError)
    return this.writes
  }

  /** Every record written; a torn last line (a crash mid-append) is skipped, a missing file is no history. */
  async read (): Promise<RoundHistory[]> {
    return parseRoundLog(await readFile(this.path, 'utf8').catch(() => ''))
  }
}

/** Records from the text of a round log: one JSON object per line; lines that do not parse are skipped. */
export function parseRoundLog (text: string): RoundHistory[] {
  const out: RoundHistory[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const r = JSON.parse(line) as RoundHistory
      if (typeof r.round === 'number') out.push(r)
    } catch {}
  }
  return out
}
