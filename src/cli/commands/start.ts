// `tapestry start`: the daemon's process lifecycle around TapestryNode — the data dir's lock,
// signals, and an exit a supervisor can rely on (non-zero and prompt on any fatal error).
import type { Logger } from 'pino'
import { dataDirPaths } from '../../daemon/datadir.js'
import { DataDirLock } from '../../daemon/lock.js'
import { DaemonError, DaemonErrorCode } from '../../daemon/errors.js'
import { TapestryNode } from '../../daemon/node.js'

/** Signals that stop the daemon cleanly (state saved); SIGHUP too, so closing a terminal saves. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const

export interface RunDaemonOptions {
  /**
   * A clean stop (save, close libp2p and the worker) that takes longer than this is cut short
   * with exit code 1: a peer that never closes must not keep a supervisor waiting.
   *
   * @default 30_000
   */
  stopTimeoutMs?: number
  /** config fields over config.json and the environment (start's --set) */
  overrides?: Record<string, unknown>
}

/** Runs the node in this process until it stops; resolves after a clean stop, throws on a failed start. */
export async function runDaemon (dataDir: string, log: Logger, o: RunDaemonOptions = {}): Promise<void> {
  const paths = dataDirPaths(dataDir)
  // first, before the trainer or libp2p start: a second daemon on this dir would share its identity
  let lock: DataDirLock
  try {
    lock = await DataDirLock.acquire(paths.lock, paths.root)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DaemonError(DaemonErrorCode.NoDataDir, `${paths.root} does not exist (run \`tapestry init --data-dir ${paths.root}\`)`)
    }
    throw err
  }
  let node: TapestryNode | undefined
  let stopping: string | undefined
  const onSignal = (sig: string): void => {
    // the Node-20 wrapper forwards a terminal's Ctrl-C that the daemon also got from its process
    // group: a repeated signal must not cut a clean stop short (the timer below bounds it)
    if (stopping != null) { log.info({ signal: sig }, 'already stopping'); return }
    stopping = sig
    setTimeout(() => {
      log.error({ afterMs: o.stopTimeoutMs ?? 30_000 }, 'clean stop took too long; exiting')
      process.exit(1)
    }, o.stopTimeoutMs ?? 30_000).unref()
    void node?.stop(sig)
  }
  // before the node starts: "node started" is logged (and control.json written) before start()
  // returns, and a signal in between would otherwise end the process without a clean stop
  for (const sig of STOP_SIGNALS) process.on(sig, () => onSignal(sig))
  try {
    node = await TapestryNode.start(dataDir, log, o.overrides)
  } catch (err) {
    const e = err as { code?: string, message?: string }
    log.fatal({ code: e.code, err: e.message ?? String(err) }, 'start failed')
    lock.release()
    throw err
  }
  if (stopping != null) void node.stop(stopping) // asked to stop while it was starting
  await node.whenStopped
  lock.release()
  // libp2p and the worker may hold handles for a while; the state is saved, so leave now
  setTimeout(() => process.exit(0), 200).unref()
}
