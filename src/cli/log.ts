// The process logger: pino to stderr by default, so stdout stays clean for --json output; the
// daemon (`tapestry start`) logs JSON lines to stdout — human-readable lines when stdout is a
// terminal — and, always as JSON, to its data dir's daemon.log (what `tapestry logs` reads).
import { existsSync, renameSync, statSync } from 'node:fs'
import { pino, type DestinationStream, type Logger } from 'pino'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

/**
 * The logger of a one-shot command (train, sim, export …): quiet by default (warnings and errors
 * only; TAPESTRY_LOG=info shows the rest), human lines on a terminal, JSON lines otherwise.
 */
export function createLogger (level = process.env.TAPESTRY_LOG ?? 'warn', fd: 1 | 2 = 2): Logger {
  const out = fd === 1 ? process.stdout : process.stderr
  return pino({ level, base: undefined }, out.isTTY ? humanStream(out) : pino.destination({ dest: fd, sync: true }))
}

/** daemon.log is moved to daemon.log.1 at start once it passes this size (one old file kept). */
export const LOG_ROTATE_BYTES = 64 * 1024 * 1024

/** The daemon's logger: stdout (human lines on a terminal, JSON otherwise) and `file` (JSON, appended). */
export function createDaemonLogger (level: string, file: string | undefined): Logger {
  const streams: pino.StreamEntry[] = [{ level: level as pino.Level, stream: process.stdout.isTTY ? humanStream(process.stdout) : pino.destination({ dest: 1, sync: true }) }]
  if (file != null) {
    try { if (statSync(file).size > LOG_ROTATE_BYTES) renameSync(file, `${file}.1`) } catch {}
    streams.push({ level: level as pino.Level, stream: pino.destination({ dest: file, append: true, sync: true }) })
  }
  return pino({ level, base: undefined }, pino.multistream(streams))
}

/** True when `dir` exists (the daemon's log file goes there only then: start reports a missing dir itself). */
export const dirExists = (dir: string): boolean => existsSync(dir)

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }

/** One JSON log record as a line a person reads: time, level, message, then the fields. */
export function humanLine (record: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = record
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '--:--:--.---'
  const fields = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
  return `${t} ${(LEVEL_NAMES[Number(level)] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${fields.length > 0 ? '  ' + fields.join(' ') : ''}`
}

function humanStream (out: NodeJS.WriteStream): DestinationStream {
  return {
    write (chunk: string): void {
      for (const line of chunk.split('\n')) {
        if (line === '') continue
        try { out.write(humanLine(JSON.parse(line) as Record<string, unknown>) + '\n') } catch { out.write(line + '\n') }
      }
    }
  }
}
