// Operator commands for one node: init, start (foreground daemon), stop, status, peers, rounds, model.
import type { Command } from 'commander'
import { table } from '../table.js'
import { initDataDir, dataDirPaths, readControlInfo, readToken, DEFAULT_DATA_DIR } from '../../daemon/datadir.js'
import { controlRequest, type ControlRoute } from '../../daemon/control.js'
import type { ControlResponses, ModelView } from '../../daemon/control-types.js'
import { NodeConfigSchema } from '../../daemon/config.js'
import { formatDefault, nodeConfigHelp, runSettingsHelp } from '../parse.js'
import { RUN_SETTING_KEYS } from '../../round/index.js'
import { readManifestFile } from '../../daemon/run-files.js'
import { LOG_LEVELS, createDaemonLogger, dirExists } from '../log.js'
import { UsageError } from '../errors.js'
import { DaemonErrorCode } from '../../daemon/errors.js'

const list = (v: string): string[] => v.split(',').map(s => s.trim()).filter(s => s !== '')
const DEFAULT_LISTEN: string[] = NodeConfigSchema.shape.listen.parse(undefined)

export function registerNode (program: Command): void {
  program.command('init')
    .description("set up a data directory for a run: identity key, config file, control token, the run's manifest")
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('--run <file>', "the run's signed manifest (run.json, from the run's admin); required for a new data directory")
    .option('--bootstrap <addrs>', 'multiaddrs to dial at start, comma-separated (a member\'s address, /…/p2p/<peer id>)')
    .option('--listen <addrs>', `listen multiaddrs, comma-separated; a port 0 is replaced by a free port once, so the address stays valid across restarts (default: ${formatDefault(DEFAULT_LISTEN)})`)
    .option('--set <key=value...>', 'any other config field, e.g. --set shard=1 shards=2 (run settings must equal the manifest\'s; key=null: back to the default)')
    .option('--force', 'change the config of an existing data directory: the given fields over the old ones (keeps its identity and run); refused while its daemon runs', false)
    .option('--json', 'print one JSON object', false)
    .addHelpText('after', `\nNode config fields (this node's own: --set key=value, config.json, or TAPESTRY_<FIELD> at start):\n${nodeConfigHelp(NodeConfigSchema.shape, RUN_SETTING_KEYS)}\n\nRun settings (fixed by the run's manifest: every member uses the same):\n${runSettingsHelp(k => k)}`)
    .action(async (o: Record<string, unknown>) => {
      const config = configFromFlags(o)
      const manifest = o.run != null ? await readManifestFile(String(o.run)) : undefined
      const r = await initDataDir(String(o.dataDir), { config, manifest, force: o.force === true })
      const member = manifest == null || manifest.body.members.some(m => m.peerId === r.peerId) || manifest.body.admins.includes(r.peerId)
      if (o.json === true) {
        process.stdout.write(JSON.stringify({ peerId: r.peerId, runId: r.runId, dataDir: r.paths.root, changed: r.changed, replacedUnreadable: r.replacedUnreadable }) + '\n')
        return
      }
      process.stdout.write(`initialised ${r.paths.root}\npeer id ${r.peerId}\nrun     ${r.runId}\n`)
      if (!member) process.stdout.write(`not a founding member: send the peer id above to an admin of the run, who runs \`tapestry run admit ${r.peerId}\`\n`)
      if (r.replacedUnreadable != null) process.stdout.write(`the old config was unreadable (${r.replacedUnreadable}): every field not given is back to its default\n`)
      if (o.force === true) process.stdout.write(`changed: ${r.changed.length > 0 ? r.changed.join(', ') : 'nothing'}\n`)
    })

  program.command('start')
    .description('run the node in the foreground (logs to stdout); SIGTERM/SIGINT/SIGHUP stop it cleanly; refused while another daemon holds the data dir')
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('--set <key=value...>', 'config fields for this start only, over config.json and TAPESTRY_<FIELD> environment variables (e.g. --set opsPort=9464)')
    .option('--log-level <level>', `${LOG_LEVELS.join(' | ')} (default: $TAPESTRY_LOG, else info); JSON lines to stdout (human lines on a terminal) and to <data dir>/daemon.log`)
    .action(async (o: { dataDir: string, logLevel?: string, set?: string[] }) => {
      const level = o.logLevel ?? process.env.TAPESTRY_LOG ?? 'info'
      if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`)
      const paths = dataDirPaths(o.dataDir)
      // loaded here, not at the top: libp2p and ONNX Runtime would cost every `--help` half a second
      const { runDaemon } = await import('./start.js')
      await runDaemon(o.dataDir, createDaemonLogger(level, dirExists(paths.root) ? paths.log : undefined), { overrides: configFromFlags({ set: o.set }) })
    })

  for (const [name, desc] of [
    ['peers', 'connected peers with latency and role'],
    ['model', 'the current global model'],
    ['stop', 'ask the running daemon to save its state and stop']
  ] as const) {
    program.command(name)
      .description(desc)
      .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
      .option('--json', 'print one JSON object', false)
      .action(async (o: { dataDir: string, json: boolean }) => {
        const body = name === 'model' ? await modelLiveOrStored(o.dataDir) : await query(o.dataDir, name)
        if (o.json) { process.stdout.write(JSON.stringify(body) + '\n'); return }
        process.stdout.write(render(name, body) + '\n')
      })
  }
}

/** The daemon's model view, or with the daemon stopped the one its last snapshot holds. */
async function modelLiveOrStored (dataDir: string): Promise<ModelView> {
  try {
    return await query(dataDir, 'model')
  } catch (err) {
    if ((err as { code?: string }).code !== DaemonErrorCode.NotRunning) throw err
    const [{ fromDataDir }, { layoutToString }, { modelLayout }] = await Promise.all([import('./export.js'), import('../../tensor/index.js'), import('../../graph/index.js')])
    const m = await fromDataDir(dataDir)
    process.stderr.write('(daemon not running: the model of its last persisted round)\n')
    return { cid: null, round: m.round, modelId: m.modelId, params: m.params.length, layout: layoutToString(modelLayout(m.spec)) }
  }
}

export async function query<R extends ControlRoute> (dataDir: string, route: R, body?: unknown): Promise<ControlResponses[R]> {
  const paths = dataDirPaths(dataDir)
  const info = await readControlInfo(paths)
  const token = await readToken(paths)
  return await controlRequest(info.port, token, route, 10_000, body)
}

/** Config fields from init's (and run create's) flags: --listen, --bootstrap, --set key=value. */
export function configFromFlags (o: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = {}
  if (o.listen != null) config.listen = list(String(o.listen))
  if (o.bootstrap != null) config.bootstrap = list(String(o.bootstrap))
  for (const kv of (o.set as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=')
    if (eq <= 0) throw new UsageError(`--set needs key=value, got "${kv}"`)
    const raw = kv.slice(eq + 1)
    let v: unknown = raw
    try { v = JSON.parse(raw) } catch {}
    config[kv.slice(0, eq)] = v
  }
  return config
}

/** A long id as its first 8 and last 6 characters: enough to tell peers apart in a table. */
export const short = (s: unknown): string => typeof s === 'string' && s.length > 20 ? `${s.slice(0, 8)}…${s.slice(-6)}` : String(s ?? '-')
export const pct = (x: unknown): string => typeof x === 'number' ? `${(100 * x).toFixed(2)}%` : '-'

function render (route: ControlRoute, body: ControlResponses[ControlRoute]): string {
  switch (route) {
    case 'peers': {
      const t = table({ head: ['peer', 'role', 'latency', 'round', 'address'] })
      for (const p of (body as ControlResponses['peers']).peers) t.push([short(p.peerId), p.role, p.latencyMs != null ? `${p.latencyMs} ms` : '-', String(p.round), p.addrs[0] ?? '-'])
      return t.toString()
    }
    case 'model': {
      const t = table()
      for (const [k, v] of Object.entries(body as ModelView)) t.push({ [k]: k === 'layout' ? String(v).slice(0, 60) : String(v) })
      return t.toString()
    }
    case 'stop':
      return 'stopping'
    // status and rounds have commands of their own (history.ts); the rest answer in JSON
    case 'status':
    case 'rounds':
    case 'membership':
    case 'partition':
    case 'catalog':
      return JSON.stringify(body)
  }
}
