// `tapestry rounds [--last N] [--follow]` and `tapestry status`, from the running daemon or, when
// it is stopped, from what its data directory keeps (rounds.jsonl, the chain, run.json, config).
import type { Command } from 'commander'
import { table } from '../table.js'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_DATA_DIR, dataDirPaths, type DataDirPaths } from '../../daemon/datadir.js'
import { DaemonErrorCode } from '../../daemon/errors.js'
import { RoundLog } from '../../daemon/round-log.js'
import { loadRun } from '../../daemon/run-files.js'
import type { ControlResponses, RoundHistory, StatusView } from '../../daemon/control-types.js'
import { parseIntFlag } from '../parse.js'
import { pct, query, short } from './node.js'

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** The daemon's answer, or undefined when no daemon runs for the data dir (other failures are thrown). */
async function fromDaemon<R extends 'rounds' | 'status'> (dataDir: string, route: R): Promise<ControlResponses[R] | undefined> {
  try {
    return await query(dataDir, route)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === DaemonErrorCode.NotRunning) return undefined
    throw err
  }
}

async function roundsOffline (paths: DataDirPaths): Promise<RoundHistory[]> {
  return await new RoundLog(paths.rounds).read()
}

/** One round as a line (for --follow): the table's columns, space-aligned. */
function roundLine (r: RoundHistory): string {
  const metric = r.bitsPerByte != null ? `${r.bitsPerByte.toFixed(3)} bpb` : `acc ${pct(r.accuracy)}`
  return [`round ${String(r.round).padStart(5)}`, `aggregator ${short(r.aggregator)}`, `rank ${r.rank}`, `${String(r.included).padStart(4)} updates`,
    `loss ${r.loss != null ? r.loss.toFixed(4) : '-'}`, metric, `${r.bytes} B`, new Date(r.at).toISOString()].join('  ')
}

function roundsTable (rounds: RoundHistory[]): string {
  const t = table({ head: ['round', 'aggregator', 'rank', 'updates', 'loss', 'accuracy / bpb', 'bytes', 'dense bytes'] })
  for (const r of rounds) {
    t.push([String(r.round), short(r.aggregator), String(r.rank), String(r.included), r.loss != null ? r.loss.toFixed(4) : '-',
      r.bitsPerByte != null ? `${r.bitsPerByte.toFixed(3)} bpb` : pct(r.accuracy), String(r.bytes), String(r.bytesDense)])
  }
  return t.toString()
}

export function registerHistory (program: Command): void {
  program.command('rounds')
    .description('rounds this node applied: aggregator, updates, loss, accuracy or bits per byte, bytes (works with the daemon stopped)')
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('--last <n>', 'only the last n rounds (default: all; with --follow: 10)')
    .option('--follow', 'keep printing rounds as they are applied, one line each, until interrupted', false)
    .option('--json', 'one JSON object ({rounds}); with --follow one JSON record per line', false)
    .action(async (o: { dataDir: string, last?: string, follow: boolean, json: boolean }) => {
      const paths = dataDirPaths(o.dataDir)
      await loadRun(paths) // a clear error for a directory that is not a node's
      const last = o.last != null ? parseIntFlag('last', o.last, 1) : (o.follow ? 10 : undefined)
      const read = async (): Promise<{ rounds: RoundHistory[], live: boolean }> => {
        const d = await fromDaemon(o.dataDir, 'rounds')
        return d != null ? { rounds: d.rounds, live: true } : { rounds: await roundsOffline(paths), live: false }
      }
      const first = await read()
      const shown = last != null ? first.rounds.slice(-last) : first.rounds
      if (!first.live && !o.json) process.stderr.write(`(daemon not running: history from ${paths.rounds})\n`)
      if (!o.follow) {
        process.stdout.write(o.json ? JSON.stringify({ rounds: shown }) + '\n' : roundsTable(shown) + '\n')
        return
      }
      const print = (r: RoundHistory): void => { process.stdout.write((o.json ? JSON.stringify(r) : roundLine(r)) + '\n') }
      for (const r of shown) print(r)
      let seen = first.rounds.length > 0 ? first.rounds[first.rounds.length - 1].round : -1
      for (;;) {
        await sleep(1000)
        const now = await read()
        for (const r of now.rounds) if (r.round > seen) { print(r); seen = r.round }
      }
    })

  program.command('status')
    .description("the node's run, listen addresses, round, role, peers, model, forks and exclusions (with the daemon stopped: what its data directory holds)")
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON object', false)
    .action(async (o: { dataDir: string, json: boolean }) => {
      const paths = dataDirPaths(o.dataDir)
      const forks = await readdir(join(paths.chain, 'forks')).catch(() => [] as string[])
      const live = await fromDaemon(o.dataDir, 'status')
      if (live != null) {
        if (o.json) { process.stdout.write(JSON.stringify({ ...live, running: true, forksLeft: forks.length }) + '\n'); return }
        process.stdout.write(statusTable(live, forks.length) + '\n')
        return
      }
      const manifest = await loadRun(paths)
      const config = JSON.parse(await readFile(paths.config, 'utf8').catch(() => '{}')) as { listen?: string[] }
      const rounds = await roundsOffline(paths)
      const lastRound = rounds[rounds.length - 1]
      const view = { running: false, runId: manifest.runId, runName: manifest.body.name, listen: config.listen ?? [], lastRound: lastRound ?? null, forksLeft: forks.length }
      if (o.json) { process.stdout.write(JSON.stringify(view) + '\n'); return }
      const t = table()
      t.push({ daemon: 'not running' }, { run: `${view.runName} (${view.runId})` }, { listen: view.listen.join('\n') || '-' },
        { 'last round': lastRound != null ? `${lastRound.round} (${new Date(lastRound.at).toISOString()}), ${lastRound.included} updates, loss ${lastRound.loss?.toFixed(4) ?? '-'}` : 'none yet' },
        { forks: forks.length === 0 ? 'none left' : `left ${forks.length} branch(es) for the electorate's (kept in ${join(paths.chain, 'forks')})` })
      process.stdout.write(t.toString() + '\n')
    })
}

/** How outsiders reach this node, and through which addresses (reachability.ts). */
export function reachableLine (b: Pick<StatusView, 'reachability'>): string {
  const r = b.reachability
  const how = r.reachability === 'public'
    ? `public: ${r.addresses.public.join(', ')}`
    : r.reachability === 'relayed'
      ? `relayed through ${r.relays.map(short).join(', ')} (no public address verified; DCUtR upgrades connections where the NAT allows)`
      : r.reachability === 'private' ? 'private: LAN or loopback addresses only (no relay reservation)' : 'unreachable: no dialable address'
  const extra = [
    r.relayingFor != null && r.relayingFor > 0 ? `relaying for ${r.relayingFor} member(s)` : '',
    r.upnp ? 'UPnP on' : ''
  ].filter(x => x !== '')
  return extra.length > 0 ? `${how}\n${extra.join('; ')}` : how
}

/** Peers, and how the connections to them run. */
function peersLine (b: Pick<StatusView, 'peers' | 'reachability'>): string {
  const c = b.reachability.connections
  const paths = [c.direct > 0 ? `${c.direct} direct` : '', c.relayed > 0 ? `${c.relayed} relayed` : '', c['direct-after-relay'] > 0 ? `${c['direct-after-relay']} direct after relay (hole punch or upgrade)` : ''].filter(x => x !== '')
  return paths.length > 0 ? `${b.peers.length} (connections: ${paths.join(', ')})` : String(b.peers.length)
}

function statusTable (b: StatusView, forks: number): string {
  const t = table()
  t.push({ 'peer id': b.peerId }, { run: `${b.runName} (${b.runId})` }, { listen: b.addrs.join('\n') || '-' },
    { round: b.waiting != null ? `${b.round}, waiting for members: ${b.waiting.members} of ${b.waiting.minMembers} connected` : String(b.round) },
    { reachable: reachableLine(b) },
    { aggregator: String(b.aggregator ?? '-') }, { role: b.role }, { device: b.device }, { peers: peersLine(b) },
    { model: `${short(b.model.cid)} (round ${b.model.round})` },
    { 'page, metrics': b.opsUrl != null ? `${b.opsUrl}  ${b.opsUrl}metrics` : '-' },
    { forks: forks === 0 ? 'on the one chain; never left a branch' : `left ${forks} branch(es) for the one the electorate followed (evidence kept)` },
    { excluded: b.banned.length === 0 ? 'nobody' : b.banned.map(short).join(', ') + ' (equivocation, proven on the chain)' })
  t.push({ refused: `${b.refused.connections} connections, ${b.refused.gossip} gossip messages, ${b.refused.streams} streams from non-members; ${b.refused.gossipRate} gossip messages over budget` })
  if (b.bulk != null) t.push({ 'bulk transfers': `TCP port ${b.bulk.port}: ${b.bulk.transfers} ranges sent (${(b.bulk.bytes / 1e6).toFixed(1)} MB), ${b.bulk.refused} handshakes refused` })
  if (b.privacy != null) t.push({ privacy: `ε = ${b.privacy.epsilon.toFixed(3)} at δ = ${b.privacy.delta} after ${b.privacy.releases} releases (σ ${b.privacy.noiseMultiplier}, clip ${b.privacy.clipNorm})` })
  return t.toString()
}
