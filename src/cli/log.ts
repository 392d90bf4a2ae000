// The process logger: pino to stderr by default, so stdout stays clean for --json output;
// the daemon (`tapestry start`) logs to stdout.
import { pino, type Logger } from 'pino'

export function createLogger (level = process.env.TAPESTRY_LOG ?? 'info', fd: 1 | 2 = 2): Logger {
  return pino({ level, base: undefined }, pino.destination({ dest: fd, sync: true }))
}
