// Typed errors of the command line: bad flags and values, reported as one clear line.

export class UsageError extends Error {
  readonly code = 'ERR_CLI_USAGE'
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
