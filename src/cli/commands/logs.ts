// `tapestry logs [-f] [--since] [--level] [--json]`: the daemon's log (<data dir>/daemon.log, JSON
// lines), filtered, as lines a person reads or as the JSON records; -f keeps following it.
import type { Command } from 'commander'
import { open, stat } from 'node:fs/promises'
import { DEFAULT_DATA_DIR, dataDirPaths } from '../../daemon/datadir.js'
import { LOG_LEVELS, humanLine } from '../log.js'
import { UsageError } from '../errors.js'

const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/** `--since`: an ISO time, or a duration back from now (`90s`, `10m`, `2h`, `1d`). */
export function parseSince (raw: string, now = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(raw)
  if (m != null) return now - Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd']
  const t = Date.parse(raw)
  if (Number.isNaN(t)) throw new UsageError(`--since takes a time (2026-12-02T10:00:00Z) or a duration back from now (90s, 10m, 2h, 1d), got "${raw}"`)
  return t
}

export function registerLogs (program: Command): void {
  program.command('logs')
    .description("the daemon's log from its data directory (works with the daemon stopped)")
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('-f, --follow', 'keep printing new records until interrupted', false)
    .option('--since <when>', 'only records from this time (ISO) or this long ago (90s, 10m, 2h, 1d)')
    .option('--level <level>', `only records at this level or above: ${LOG_LEVELS.join(' | ')}`, 'info')
    .option('--json', 'the JSON records as written, one per line', false)
    .action(async (o: { dataDir: string, follow: boolean, since?: string, level: string, json: boolean }) => {
      const min = LEVEL_VALUES[o.level]
      if (min == null) throw new UsageError(`--level must be one of ${LOG_LEVELS.join(', ')}, got "${o.level}"`)
      const since = o.since != null ? parseSince(o.since) : -Infinity
      const file = dataDirPaths(o.dataDir).log
      const show = (line: string): void => {
        let r: Record<string, unknown>
        try { r = JSON.parse(line) as Record<string, unknown> } catch { return }
        if (Number(r.level) < min || (typeof r.time === 'number' && r.time < since)) return
        process.stdout.write((o.json ? line : humanLine(r)) + '\n')
      }
      let offset = 0
      let rest = ''
      const readNew = async (): Promise<void> => {
        const size = await stat(file).then(s => s.size, () => -1)
        if (size < offset) { offset = 0; rest = '' } // rotated: start the new file from its beginning
        if (size <= offset) return
        const fh = await open(file, 'r')
        try {
          const buf = Buffer.alloc(size - offset)
          await fh.read(buf, 0, buf.length, offset)
          offset = size
          const lines = (rest + buf.toString('utf8')).split('\n')
          rest = lines.pop() ?? ''
          for (const l of lines) if (l !== '') show(l)
        } finally { await fh.close() }
      }
      if (!o.follow && await stat(file).then(() => false, () => true)) throw new UsageError(`no log at ${file} yet (the daemon writes it once started)`)
      await readNew()
      if (!o.follow) return
      for (;;) {
        await new Promise(resolve => setTimeout(resolve, 500))
        await readNew()
      }
    })
}
