// `npm run bench -- rounds [--mode=aggregator|gossip|both] [--rounds=N] [--raw=FILE]`: what a federated round
// costs beyond local training, with 8 real daemons (LocalCluster: child processes on 127.0.0.1),
// against the pure transfer time of the same bytes over the same blob protocol.
//
// Overhead of round r = (time the last daemon applied commit r) − (time the last daemon finished
// training round r): the update encoding, announce gossip, the aggregator's close, the update
// fetches, the fold, the commit's signing and gossip, the members' aggregate fetch and
// verification, and every queue in between. All stamps are Date.now() taken inside the daemons
// (RoundHistory.timing, control API `rounds` route); one machine, so one clock.
//
// Pure transfer of round r = the round's critical-path transfers, redone after the daemons have
// stopped (nothing else running) between two fresh libp2p hosts in this process, over
// /tapestry/<runId>/blob/1.0.0 on a warm connection (as the daemons' connections are): first the update
// blobs the committer fetched (same sizes, fetched concurrently, as the committer does), then the
// aggregate once per member that fetched it (same size, concurrently, from one provider, as the
// members do from the aggregator). Gossip mode has no aggregate: the transfer is the update blobs
// into one node (every node fetches them in parallel). Median of REPS repetitions. Both ends share
// one process and one thread here (the daemons have one each), which makes this transfer time if
// anything longer, so the overhead ratio is if anything understated. Blobs are served from memory;
// the daemons serve from disk (read + re-hash: about 0.5 ms more per 10 kB blob when measured
// alone), which is counted as overhead.
//
// The 8 daemons share this machine's cores (2 on the CI VM), so every CPU-bound step (encoding,
// folding, verifying, persisting, evaluating, TLS) runs at a fraction of a core while the others
// run too: on such a machine the overhead is mostly waiting for CPU, which the event-loop delay
// column shows. --raw=FILE writes every daemon's RoundHistory to FILE.<mode>.json.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, dirname, basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocalCluster, sleep } from '../src/daemon/cluster.js'
import type { RoundHistory, RoundTiming } from '../src/daemon/node.js'
import { createTapestryHost, serveBlobs, fetchBlob, MemoryBlobStore, type TapestryHost } from '../src/net/index.js'

const NODES = 8
const DEFAULT_ROUNDS = 6
const REPS = 5
/** small local work: the point is what happens around training */
const CONFIG = {
  innerSteps: 20,
  batch: 32,
  codec: 'topk:0.03+q4',
  aggregateCodec: 'int8',
  // generous windows: round 0 waits for daemons that start late rather than closing without them
  deadlineMs: 30_000,
  collectMs: 20_000,
  backupStepMs: 10_000,
  partition: 'iid',
  threads: 1,
  device: 'cpu' as const,
  backups: 2
}

type Mode = 'aggregator' | 'gossip'

interface RoundRow {
  round: number
  warmup: boolean
  aggregator: string
  rank: number
  included: number
  /** median over nodes of their own training time */
  trainMs: number
  overheadMs: number
  /** the overhead split at the committer's close, the end of its fold and the last commit receipt */
  phases: { announceMs: number, collectFoldMs: number, commitGossipMs: number, fetchVerifyMs: number }
  foldMs: number
  verifyMsMax: number
  /** critical-path fetches as the daemons saw them (slowest update fetch into the committer + slowest aggregate fetch) */
  inDaemonFetchMs: number
  updateBytes: number[]
  aggregateBytes: number
  aggregateFetches: number
  pureTransferMs: number
  ratio: number
  /** after the commit: chain append, snapshot and state blob on disk, then the test-set evaluation (medians over nodes) */
  persistMs: number
  evalMs: number
  /** the daemon that applied last: its role, its verification time, how long after the commit reached it its last fetch finished */
  last: { node: number, role: 'backup' | 'member', verifyMs: number, fetchAfterCommitMs: number }
  /** main-thread event-loop delay over the round: median over daemons of their p99, and the worst single stall */
  loopDelayP99Ms: number
  loopDelayMaxMs: number
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), -Infinity)
const need = (v: number | undefined, what: string): number => {
  if (v == null) throw new Error(`round timing lacks ${what} (daemon built without round timings?)`)
  return v
}

/** The dist directory this file was compiled into, so the daemons run the same build. */
const DIST = basename(join(dirname(fileURLToPath(import.meta.url)), '..'))

/** Round r is clean when every daemon applied it, and all applied the same commit. */
function isClean (r: number, histories: RoundHistory[][]): boolean {
  const recs = histories.map(h => h.find(y => y.round === r))
  return recs.every(x => x?.timing != null && x.modelId === recs[0]?.modelId && x.aggregator === recs[0]?.aggregator)
}

/** Rounds 1.. that are clean, in order (round 0 is the warm-up). */
function steadyRounds (histories: RoundHistory[][]): number[] {
  const top = Math.min(...histories.map(h => h.length > 0 ? h[h.length - 1].round : -1))
  const out: number[] = []
  for (let r = 1; r <= top; r++) if (isClean(r, histories)) out.push(r)
  return out
}

interface ClusterRun { histories: RoundHistory[][], peerIds: string[], startupMs: number, dir: string, timedOut: boolean }

async function runCluster (mode: Mode, steady: number, say: (s: string) => void): Promise<ClusterRun> {
  const dir = await mkdtemp(join(tmpdir(), `tapestry-rounds-${mode}-`))
  const cluster = await LocalCluster.create({
    nodes: NODES,
    rounds: 0, // run until stopped: the histories are read while the daemons still answer
    dir,
    name: `rounds-${mode}-${process.pid}`,
    minMembers: NODES,
    config: { ...CONFIG, mode },
    env: { TAPESTRY_DIST: DIST, TAPESTRY_LOG: 'info' }
  })
  try {
    const t0 = Date.now()
    await cluster.startAll()
    const startupMs = Date.now() - t0
    say(`  ${mode}: ${NODES} daemons up in ${(startupMs / 1000).toFixed(1)} s; waiting for round 0 (warm-up) and ${steady} clean rounds`)
    const histories: RoundHistory[][] = cluster.nodes.map(() => [])
    const deadline = Date.now() + 60_000 + steady * 15_000
    let timedOut = false
    for (;;) {
      for (let i = 0; i < NODES; i++) {
        if (!cluster.running(i)) throw new Error(`daemon ${i} exited (see ${join(dir, `node-${i}.log`)})`)
        const h = await cluster.rounds(i)
        if (h.length >= histories[i].length) histories[i] = h
      }
      if (steadyRounds(histories).length >= steady) break
      if (Date.now() > deadline) { timedOut = true; break }
      await sleep(1_000)
    }
    return { histories, peerIds: cluster.nodes.map(n => n.peerId), startupMs, dir, timedOut }
  } catch (err) {
    say(`  (daemon logs kept in ${dir})`)
    throw err
  } finally {
    await cluster.stopAll()
  }
}

/** What went wrong in a round that is not clean: who applied which commit. */
function describeIrregular (r: number, histories: RoundHistory[][], peerIds: string[]): { round: number, applied: number, commits: Array<{ committer: number, rank: number, appliedBy: number[] }> } {
  const commits = new Map<string, { committer: number, rank: number, appliedBy: number[] }>()
  histories.forEach((h, i) => {
    const x = h.find(y => y.round === r)
    if (x == null) return
    const k = `${x.aggregator}/${x.modelId}`
    const c = commits.get(k) ?? { committer: peerIds.indexOf(x.aggregator), rank: x.rank, appliedBy: [] }
    c.appliedBy.push(i)
    commits.set(k, c)
  })
  return { round: r, applied: [...commits.values()].reduce((a, c) => a + c.appliedBy.length, 0), commits: [...commits.values()] }
}

/** What the daemons recorded for round r, split along the critical path. */
function analyse (r: number, histories: RoundHistory[][], peerIds: string[]): Omit<RoundRow, 'pureTransferMs' | 'ratio'> {
  const recs = histories.map((h, i) => {
    const x = h.find(y => y.round === r)
    if (x?.timing == null) throw new Error(`daemon ${i} has no timing for round ${r}`)
    return x as RoundHistory & { timing: RoundTiming }
  })
  const c = peerIds.indexOf(recs[0].aggregator)
  if (c < 0) throw new Error(`round ${r}: committer ${recs[0].aggregator} is not one of the daemons`)
  const ct = recs[c].timing
  const others = recs.filter((_, i) => i !== c).map(x => x.timing)
  const lastTrained = max(recs.map(x => need(x.timing.trainedAt, 'trainedAt')))
  const lastApplied = max(recs.map(x => need(x.timing.appliedAt, 'appliedAt')))
  const closed = need(ct.closedAt, 'closedAt (committer)')
  const folded = need(ct.appliedAt, 'appliedAt (committer)')
  const lastCommitSeen = max(others.map(t => need(t.commitReceivedAt, 'commitReceivedAt')))
  const updates = ct.fetches.filter(f => f.ok && f.kind === 'update')
  const aggregates = others.flatMap(t => t.fetches.filter(f => f.ok && f.kind === 'aggregate'))
  const dur = (f: { startAt: number, doneAt: number }): number => f.doneAt - f.startAt
  return {
    round: r,
    warmup: r === 0,
    aggregator: recs[0].aggregator,
    rank: recs[0].rank,
    included: recs[0].included,
    trainMs: median(recs.map(x => need(x.timing.trainedAt, 'trainedAt') - need(x.timing.trainStartAt, 'trainStartAt'))),
    overheadMs: lastApplied - lastTrained,
    phases: {
      announceMs: closed - lastTrained,
      collectFoldMs: folded - closed,
      commitGossipMs: lastCommitSeen - folded,
      fetchVerifyMs: lastApplied - lastCommitSeen
    },
    foldMs: ct.computeMs ?? NaN,
    verifyMsMax: max(others.map(t => t.computeMs ?? 0)),
    inDaemonFetchMs: (updates.length > 0 ? max(updates.map(dur)) : 0) + (aggregates.length > 0 ? max(aggregates.map(dur)) : 0),
    updateBytes: updates.map(f => f.bytes),
    aggregateBytes: aggregates[0]?.bytes ?? 0,
    aggregateFetches: aggregates.length,
    persistMs: median(recs.map(x => need(x.timing.persistedAt, 'persistedAt') - need(x.timing.appliedAt, 'appliedAt'))),
    evalMs: median(recs.map(x => x.at - need(x.timing.persistedAt, 'persistedAt'))),
    last: lastApplier(recs, c),
    loopDelayP99Ms: median(recs.map(x => x.timing.loopDelay?.p99Ms ?? NaN).filter(Number.isFinite)),
    loopDelayMaxMs: max(recs.map(x => x.timing.loopDelay?.maxMs ?? NaN).filter(Number.isFinite))
  }
}

function lastApplier (recs: Array<RoundHistory & { timing: RoundTiming }>, committer: number): RoundRow['last'] {
  let node = committer
  for (let i = 0; i < recs.length; i++) if ((recs[i].timing.appliedAt ?? 0) > (recs[node].timing.appliedAt ?? 0)) node = i
  const t = recs[node].timing
  const got = t.commitReceivedAt ?? t.appliedAt ?? 0
  const lastFetch = max(t.fetches.map(f => f.doneAt))
  return {
    node,
    // in aggregator mode the backups fetch every update and re-fold; members fetch the aggregate
    role: t.fetches.some(f => f.kind === 'update') ? 'backup' : 'member',
    verifyMs: t.computeMs ?? NaN,
    fetchAfterCommitMs: Math.max(0, (Number.isFinite(lastFetch) ? lastFetch : got) - got)
  }
}

/** The critical path's transfers, alone: see the comment at the top. */
class PureTransfer {
  private constructor (private readonly server: TapestryHost, private readonly client: TapestryHost, private readonly store: MemoryBlobStore) {}

  static async open (): Promise<PureTransfer> {
    const store = new MemoryBlobStore()
    const server = await createTapestryHost({ runId: 'bench-rounds' })
    const client = await createTapestryHost({ runId: 'bench-rounds' })
    await serveBlobs(server, { store })
    await client.dial(server.multiaddrs()[0])
    const t = new PureTransfer(server, client, store)
    for (let i = 0; i < 5; i++) await t.once([16_384, 16_384], 262_144, 2) // warm-up: JIT, stream setup
    return t
  }

  private async fetchAll (cids: string[]): Promise<void> {
    await Promise.all(cids.map(async cid => await fetchBlob(this.client, cid, [this.server.peerId], { maxBytes: 1 << 30, timeoutMs: 30_000 })))
  }

  /** One repetition: the update blobs concurrently, then `n` concurrent fetches of the aggregate. */
  async once (updateBytes: number[], aggregateBytes: number, n: number): Promise<number> {
    const ups = updateBytes.map(b => this.store.put(randomBytes(b)).toString())
    const agg = aggregateBytes > 0 ? this.store.put(randomBytes(aggregateBytes)).toString() : null
    const t0 = performance.now()
    await this.fetchAll(ups)
    if (agg != null) await this.fetchAll(Array.from({ length: n }, () => agg))
    const ms = performance.now() - t0
    for (const cid of [...ups, ...(agg != null ? [agg] : [])]) this.store.delete(cid)
    return ms
  }

  async median (updateBytes: number[], aggregateBytes: number, n: number): Promise<number> {
    const xs: number[] = []
    for (let i = 0; i < REPS; i++) xs.push(await this.once(updateBytes, aggregateBytes, n))
    return median(xs)
  }

  async close (): Promise<void> {
    await Promise.all([this.client.stop(), this.server.stop()])
  }
}

async function benchMode (mode: Mode, rounds: number, say: (s: string) => void): Promise<object> {
  const t0 = Date.now()
  const { histories, peerIds, startupMs, dir, timedOut } = await runCluster(mode, rounds - 1, say)
  const raw = process.argv.find(a => a.startsWith('--raw='))?.slice(6)
  if (raw != null) await writeFile(`${raw}.${mode}.json`, JSON.stringify({ peerIds, histories }))
  const steadyList = steadyRounds(histories).slice(0, rounds - 1)
  const lastSeen = steadyList.length > 0 ? steadyList[steadyList.length - 1] : Math.min(...histories.map(h => h.length > 0 ? h[h.length - 1].round : 0))
  const irregular = Array.from({ length: lastSeen + 1 }, (_, r) => r).filter(r => !isClean(r, histories)).map(r => describeIrregular(r, histories, peerIds))
  if (irregular.length === 0) await rm(dir, { recursive: true, force: true })
  for (const x of irregular) {
    say(`  round ${x.round} not clean (left out): ${x.applied} of ${NODES} daemons applied it, ` +
      x.commits.map(c => `commit by daemon ${c.committer} (rank ${c.rank}) applied by [${c.appliedBy.join(',')}]`).join('; ') +
      (x.applied < NODES ? '; the others caught up by sync' : '') + `; logs kept in ${dir}`)
  }
  if (steadyList.length === 0) throw new Error(`${mode}: no clean round after the warm-up${timedOut ? ' before the time limit' : ''}; logs in ${dir}`)
  if (timedOut) say(`  only ${steadyList.length} clean rounds before the time limit`)
  const measured = [...(isClean(0, histories) ? [0] : []), ...steadyList]
  const partial = measured.map(r => analyse(r, histories, peerIds))
  const pt = await PureTransfer.open()
  const rows: RoundRow[] = []
  try {
    for (const p of partial) {
      const pureTransferMs = await pt.median(p.updateBytes, p.aggregateBytes, p.aggregateFetches)
      rows.push({ ...p, pureTransferMs, ratio: p.overheadMs / pureTransferMs })
    }
  } finally { await pt.close() }

  const kB = (b: number): string => (b / 1000).toFixed(1)
  const ms = (x: number): string => x.toFixed(0)
  say('  round  committer  train | overhead = announce + collect/fold + commit gossip + fetch/verify | fold verify | in-daemon fetch | pure transfer | overhead/transfer')
  for (const x of rows) {
    const ph = x.phases
    const bytes = `${x.updateBytes.length}×${kB(median(x.updateBytes))} kB up` + (x.aggregateFetches > 0 ? ` + ${x.aggregateFetches}×${kB(x.aggregateBytes)} kB down` : '')
    say(`  ${String(x.round).padStart(5)}  …${x.aggregator.slice(-6)} r${x.rank} ${ms(x.trainMs).padStart(6)} | ${ms(x.overheadMs).padStart(8)} = ${ms(ph.announceMs).padStart(8)} + ${ms(ph.collectFoldMs).padStart(12)} + ${ms(ph.commitGossipMs).padStart(13)} + ${ms(ph.fetchVerifyMs).padStart(12)} | ` +
      `${ms(x.foldMs).padStart(4)} ${ms(x.verifyMsMax).padStart(6)} | ${ms(x.inDaemonFetchMs).padStart(15)} | ${x.pureTransferMs.toFixed(1).padStart(13)} | ${x.ratio.toFixed(1).padStart(8)}×  (${bytes})${x.warmup ? ' warm-up, not in the median' : ''}`)
  }
  const steady = rows.filter(x => !x.warmup)
  const pick = (f: (x: RoundRow) => number): number => median(steady.map(f))
  const med = {
    trainMs: pick(x => x.trainMs),
    overheadMs: pick(x => x.overheadMs),
    announceMs: pick(x => x.phases.announceMs),
    collectFoldMs: pick(x => x.phases.collectFoldMs),
    commitGossipMs: pick(x => x.phases.commitGossipMs),
    fetchVerifyMs: pick(x => x.phases.fetchVerifyMs),
    foldMs: pick(x => x.foldMs),
    verifyMsMax: pick(x => x.verifyMsMax),
    inDaemonFetchMs: pick(x => x.inDaemonFetchMs),
    persistMs: pick(x => x.persistMs),
    evalMs: pick(x => x.evalMs),
    lastApplierVerifyMs: pick(x => x.last.verifyMs),
    lastApplierFetchAfterCommitMs: pick(x => x.last.fetchAfterCommitMs),
    loopDelayP99Ms: pick(x => x.loopDelayP99Ms),
    loopDelayMaxMs: pick(x => x.loopDelayMaxMs),
    pureTransferMs: pick(x => x.pureTransferMs),
    ratio: pick(x => x.ratio)
  }
  say(`  median of ${steady.length} rounds: overhead ${ms(med.overheadMs)} ms (announce ${ms(med.announceMs)} + collect/fold ${ms(med.collectFoldMs)} + commit gossip ${ms(med.commitGossipMs)} + fetch/verify ${ms(med.fetchVerifyMs)}), ` +
    `pure transfer ${med.pureTransferMs.toFixed(1)} ms → overhead/transfer ${med.ratio.toFixed(1)}×; training ${ms(med.trainMs)} ms per node (${CONFIG.innerSteps} steps × batch ${CONFIG.batch}, ${NODES} processes on this machine's cores); fold ${ms(med.foldMs)} ms, slowest verify ${ms(med.verifyMsMax)} ms, in-daemon critical fetches ${ms(med.inDaemonFetchMs)} ms`)
  const backupsLast = steady.filter(x => x.last.role === 'backup').length
  say(`  the last daemon to apply: ${mode === 'aggregator' ? `a backup (fetches every update, re-folds) in ${backupsLast} of ${steady.length} rounds, a member (fetches the aggregate) in ${steady.length - backupsLast}; ` : ''}` +
    `its verification ${ms(med.lastApplierVerifyMs)} ms, its fetches ending ${ms(med.lastApplierFetchAfterCommitMs)} ms after the commit reached it (medians). ` +
    `After applying, each daemon persists (${ms(med.persistMs)} ms) and evaluates on the test set (${ms(med.evalMs)} ms), overlapping slower daemons' fetch/verify. ` +
    `Event-loop delay per daemon: p99 ${ms(med.loopDelayP99Ms)} ms, worst stall ${ms(med.loopDelayMaxMs)} ms (medians over rounds).`)
  return { mode, nodes: NODES, rounds, steadyRounds: steadyList.length, irregular, startupMs, seconds: (Date.now() - t0) / 1000, median: med, perRound: rows }
}

export async function benchRounds (opts: { json: boolean, mode?: Mode | 'both', rounds?: number }): Promise<object> {
  const say = (s: string): void => { (opts.json ? process.stderr : process.stdout).write(s + '\n') }
  const arg = (name: string): string | undefined => process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const modeArg = opts.mode ?? (arg('mode') as Mode | 'both' | undefined) ?? 'both'
  if (!['aggregator', 'gossip', 'both'].includes(modeArg)) throw new Error(`--mode must be aggregator, gossip or both, got ${modeArg}`)
  const rounds = opts.rounds ?? Number(arg('rounds') ?? DEFAULT_ROUNDS)
  if (!Number.isInteger(rounds) || rounds < 2 || rounds > 50) throw new Error(`--rounds must be an integer in [2, 50], got ${String(rounds)}`)
  const modes: Mode[] = modeArg === 'both' ? ['aggregator', 'gossip'] : [modeArg]
  say(`rounds: ${NODES} daemons on 127.0.0.1, round 0 (warm-up) and ${rounds - 1} clean rounds per mode (every daemon applied the same commit); all times ms.`)
  say('  overhead = last daemon applied the commit − last daemon finished training (everything after local training, on the critical path).')
  say(`  pure transfer = the same critical-path blob transfers (updates into the committer, then the aggregate to each member that fetched it) over /tapestry/blob/1.0.0 between two idle hosts after the daemons stopped; median of ${REPS}.`)
  const out: Record<string, unknown> = { bench: 'rounds', nodes: NODES, config: CONFIG, pureTransferReps: REPS }
  for (const m of modes) out[m] = await benchMode(m, rounds, say)
  return out
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // run directly: node dist/bench/round-overhead.js [--json] [--mode=...] [--rounds=N]
  const json = process.argv.includes('--json')
  const r = await benchRounds({ json })
  if (json) process.stdout.write(JSON.stringify(r) + '\n')
}
