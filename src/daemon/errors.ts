// Typed errors of the daemon: data directory, config, stores and the control API.

export enum DaemonErrorCode {
  BadConfig = 'ERR_DAEMON_CONFIG',
  NoDataDir = 'ERR_DAEMON_NO_DATA_DIR',
  /** the data dir has no run manifest (run.json) */
  NoRun = 'ERR_DAEMON_NO_RUN',
  DataDirExists = 'ERR_DAEMON_DATA_DIR_EXISTS',
  /** another live daemon holds the data dir's lock (daemon.pid) */
  DataDirLocked = 'ERR_DAEMON_DATA_DIR_LOCKED',
  BadIdentity = 'ERR_DAEMON_BAD_IDENTITY',
  StoreCorrupt = 'ERR_DAEMON_STORE_CORRUPT',
  NotRunning = 'ERR_DAEMON_NOT_RUNNING',
  Unauthorized = 'ERR_DAEMON_UNAUTHORIZED',
  ControlFailed = 'ERR_DAEMON_CONTROL_FAILED',
  /** an evidence record that does not hold up: bad shape, a signature that fails, commits that prove nothing */
  BadEvidence = 'ERR_DAEMON_BAD_EVIDENCE'
}

export class DaemonError extends Error {
  readonly code: DaemonErrorCode
  /** BadConfig: the config field refused */
  readonly field?: string
  /** DataDirLocked: the live daemon that holds the lock */
  readonly pid?: number
  /** StoreCorrupt: the 1-based line of the commit log that does not parse */
  readonly line?: number
  /** `cause`: the typed error behind this one, where there is one (e.g. an AggregateError of the fold rule) */
  constructor (code: DaemonErrorCode, message: string, field?: string, options?: { cause?: unknown, pid?: number, line?: number }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'DaemonError'
    this.code = code
    if (field != null) this.field = field
    if (options?.pid !== undefined) this.pid = options.pid
    if (options?.line !== undefined) this.line = options.line
  }
}
