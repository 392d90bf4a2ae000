// The process logger: pino to stderr, so stdout stays clean for --json output.
import { pino, type Logger } from 'pino'

export function createLogger (level = process.env.TAPESTRY_LOG ?? 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination(2))
}
