// `npm run bench -- links [--json] [--rounds=N] [--shapes=NAME,...]`: the simulator's link model
// (src/sim/network.ts and reno.ts: latency, bottleneck bandwidth, per-uplink FIFO, loss drawn round
// trip by round trip on connections that keep their window)
// against real daemons on emulated links, the same round in both.
//
// Real: NODES daemons (LocalCluster), each in its own network namespace on its own access link to
// a router namespace (bench/net-link.ts openHubNetwork: a delay line per access link in the
// kernel's data path, one segment per packet, so loss hits segments as on a wire). A member-to-
// member path crosses two access links: one-way delay 2 × access delay, bandwidth the access
// rate, loss 1 − (1 − access loss)². Kernel TCP end to end (Reno: the only loss-based congestion
// control a namespace may pick here; see the docs).
//
// Simulated: the same run settings, NODES nodes, `full` topology with that one-way latency,
// bandwidth and loss, each node's uplink the access rate (the model's default). Local compute is
// not modelled but replayed: node i's work in round r takes, in the simulator, exactly what daemon
// i measured between having what it needed and announcing (its verification or fold of round
// r − 1, persistence, evaluation, training, encoding; round-log timings). What differs between the
// two is then the network, and the committer's fold of round r itself (printed).
//
// Round time of round r = the first apply of commit r − the first apply of commit r − 1 (the
// committer's, in both); round 0 (start-up) is not compared. Tail = that first apply − the last
// announce of round r: the part of the round the link model alone decides.
//
// Per shape, after the daemons stopped, bench/link-probe.ts times one update fanned out to the
// other members, and every member's update fetched by every other at once, on the same links
// (model, kernel TCP, blob protocol); the 'unshaped' control has
// no delay or rate limit, so what it leaves is what the daemons cost beyond any link. The
// comparison and its results: docs/researchers.md, "Link model against namespace links".
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, dirname, basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'
import { LocalCluster, sleep } from '../src/daemon/cluster.js'
import type { RoundHistory } from '../src/daemon/node.js'
import { DEFAULT_SIM_CONFIG, validateSimConfig } from '../src/sim/config.js'
import { Simulation } from '../src/sim/sim.js'
import { OnnxBackend } from '../src/sim/onnx-backend.js'
import { openHubNetwork, type DirectionStats, type HubNetwork } from './net-link.js'
import { STAGGER_MS, modelExchangeFlows, modelFanOutDraws, modelStaggeredFlows, probeFanOut, type ProbeResult } from './link-probe.js'
import { spread } from './stats.js'

const NODES = 4
const DEFAULT_ROUNDS = 10
/** the run settings, in the manifest and in the simulator alike (everything else at its default) */
const SETTINGS = {
  innerSteps: 50,
  batch: 32,
  // dense 8-bit updates (~204 kB for the MLP): transfers take a share of the round worth checking
  codec: 'int8',
  mode: 'gossip' as const,
  seed: 1
}
/** what only the daemons have: their shard of MNIST, one ORT thread each, CPU */
const NODE_CONFIG = { ...SETTINGS, partition: 'iid', threads: 1, device: 'cpu' as const }
const CONGESTION_CONTROL = 'reno'

export interface Shape {
  name: string
  /** member-to-member one-way delay, ms */
  oneWayMs: number
  /** access link rate, MB/s (10^6 bytes); Infinity: not limited */
  MBps: number
  /** member-to-member packet loss probability */
  loss: number
}

export const SHAPES: Shape[] = [
  // the control: links that add (almost) nothing, so what is left is what the daemons cost beyond any link
  { name: 'unshaped', oneWayMs: 0, MBps: Infinity, loss: 0 },
  { name: '20ms-5MBps', oneWayMs: 20, MBps: 5, loss: 0 },
  { name: '20ms-2MBps', oneWayMs: 20, MBps: 2, loss: 0 },
  { name: '20ms-2MBps-loss1%', oneWayMs: 20, MBps: 2, loss: 0.01 }
]

const UNSHAPED_MBPS = 1000
/** fan-outs and exchanges timed per way in the transfer probe */
const PROBE_REPS = 8

/** each access link's queue, per direction */
const QUEUE_BYTES = 1 << 20

/** simulated runs per shape (seeds 1…): each is one roll of its losses and elections, so their rounds are pooled */
const SIM_SEEDS = 5

/** how close the simulated round time must come to the real one */
const TOLERANCE = 0.2

const median = (xs: number[]): number => spread(xs).median

/** The dist directory this file was compiled into, so the daemons run the same build. */
const DIST = basename(join(dirname(fileURLToPath(import.meta.url)), '..'))

/** One round as either side saw it. */
interface RoundTimes { round: number, ms: number, tailMs: number }

type Spread = ReturnType<typeof spread>
/** 10th percentile, median, 90th percentile and largest */
interface Tail { p10: number, p50: number, p90: number, max: number }
const tail = (xs: number[]): Tail => {
  const s = [...xs].sort((a, b) => a - b)
  return { p10: s[Math.floor(0.1 * s.length)], p50: median(s), p90: s[Math.min(s.length - 1, Math.floor(0.9 * s.length))], max: s[s.length - 1] }
}

export interface RealRun {
  rounds: RoundTimes[]
  /** local work (ms) of daemon i in round r, to replay in the simulator */
  compute: Map<string, number>
  /** the committer's fold of each compared round (ms), which the simulator does not charge */
  foldMs: number[]
  /** training alone, median over daemons and rounds (ms) */
  trainMs: number
  updateBytes: number
  /** per access link, [uplink, downlink] */
  packets: Array<[DirectionStats, DirectionStats]>
  startupMs: number
  irregular: number[]
  /** every daemon's round log (for --raw) */
  histories: RoundHistory[][]
  /** one update fanned out to the other members, and every member's to every other, after the daemons stopped: model, kernel TCP, blob protocol */
  probe: ProbeResult & { model: Tail, exchangeModel: Tail, staggeredModel: Tail }
}

const key = (node: number, round: number): string => `${node}/${round}`

/** Read what the daemons recorded: round times, tails, each daemon's local work per round. */
export function analyseReal (histories: RoundHistory[][], peerIds: string[], rounds: number): Omit<RealRun, 'packets' | 'startupMs' | 'histories' | 'probe'> {
  const rec = (i: number, r: number): RoundHistory | undefined => histories[i].find(x => x.round === r)
  const firstApply = (r: number): number => Math.min(...histories.map((_, i) => rec(i, r)?.timing?.appliedAt ?? Infinity))
  const irregular: number[] = []
  const out: RoundTimes[] = []
  const foldMs: number[] = []
  const compute = new Map<string, number>()
  const train: number[] = []
  let updateBytes = 0
  for (let r = 0; r < rounds; r++) {
    const recs = histories.map((_, i) => rec(i, r))
    if (recs.some(x => x?.timing == null) || recs.some(x => x?.modelId !== recs[0]?.modelId)) { irregular.push(r); continue }
    for (let i = 0; i < recs.length; i++) {
      const t = recs[i]!.timing!
      if (t.trainStartAt != null && t.trainedAt != null) train.push(t.trainedAt - t.trainStartAt)
      for (const f of t.fetches) if (f.ok && f.kind === 'update') updateBytes = Math.max(updateBytes, f.bytes)
      // from having what it needed (its check of the previous commit) to announcing: all local
      const prev = rec(i, r - 1)?.timing
      if (t.announcedAt == null) continue
      if (r === 0 || prev?.appliedAt == null || prev.computeMs == null) {
        if (t.trainStartAt != null) compute.set(key(i, r), t.announcedAt - t.trainStartAt)
      } else compute.set(key(i, r), prev.computeMs + t.announcedAt - prev.appliedAt)
    }
    if (r === 0 || irregular.includes(r - 1)) continue
    const a = firstApply(r)
    const lastAnnounce = Math.max(...recs.map(x => x!.timing!.announcedAt ?? -Infinity))
    out.push({ round: r, ms: a - firstApply(r - 1), tailMs: a - lastAnnounce })
    const c = peerIds.indexOf(recs[0]!.aggregator)
    foldMs.push(c >= 0 ? recs[c]!.timing!.computeMs ?? NaN : NaN)
  }
  return { rounds: out, compute, foldMs, trainMs: median(train), updateBytes, irregular }
}

/** The simulator's link for a shape: the member-to-member path. */
function simLink (s: Shape): { latencyMs: number, bandwidthMBps: number, loss: number } {
  // the unshaped delay line moves a few hundred MB/s; 1 GB/s stands in for it (an update takes 0.2 ms)
  return { latencyMs: s.oneWayMs, bandwidthMBps: Number.isFinite(s.MBps) ? s.MBps : UNSHAPED_MBPS, loss: s.loss }
}

/** every member's access link carries its downloads too */
function simDownlink (s: Shape): number | undefined {
  return Number.isFinite(s.MBps) ? s.MBps : undefined
}

/** Access link of a member: half the path's delay, the full rate, and the loss whose square compounds to the path's. */
function accessLink (s: Shape): { delayMs: number, bytesPerSecond: number, queueBytes: number, loss: number } {
  // 0: the delay line does not limit the rate
  const bytesPerSecond = Number.isFinite(s.MBps) ? s.MBps * 1e6 : 0
  return {
    delayMs: s.oneWayMs / 2,
    bytesPerSecond,
    // more than a round's burst (every update to every member), so the only losses are the chosen ones
    queueBytes: QUEUE_BYTES,
    loss: 1 - Math.sqrt(1 - s.loss)
  }
}

async function realRun (s: Shape, rounds: number, say: (m: string) => void, onCleanup: (fn: (() => Promise<void>) | null) => void): Promise<RealRun> {
  const dir = await mkdtemp(join(tmpdir(), `tapestry-links-${s.name}-`))
  let net: HubNetwork | undefined
  let cluster: LocalCluster | undefined
  let ok = false
  const cleanup = async (): Promise<void> => {
    try { await cluster?.stopAll() } finally { await net?.close() }
  }
  onCleanup(cleanup)
  try {
    net = await openHubNetwork(NODES, accessLink(s), 'mtu')
    if (net.realtimeRefused != null) say(`  delay lines NOT under SCHED_FIFO (${net.realtimeRefused}): a busy CPU can stretch the emulated delays`)
    for (const m of net.members) execFileSync('ip', ['netns', 'exec', m.ns, 'sysctl', '-q', '-w', `net.ipv4.tcp_congestion_control=${CONGESTION_CONTROL}`])
    const members = net.members
    cluster = await LocalCluster.create({
      nodes: NODES,
      // the daemons stop on their own a little after the bench needs them, should it die
      rounds: rounds + 2,
      dir,
      name: `links-${s.name}-${process.pid}`,
      minMembers: NODES,
      config: NODE_CONFIG,
      // TCP, like the simulator's links
      placement: members.map(m => ({ netns: m.ns, ip: m.addr, reachable: true })),
      env: { TAPESTRY_DIST: DIST, TAPESTRY_LOG: 'info' }
    })
    const t0 = Date.now()
    await cluster.startAll()
    const startupMs = Date.now() - t0
    const histories: RoundHistory[][] = cluster.nodes.map(() => [])
    const deadline = Date.now() + 90_000 + rounds * 20_000
    for (;;) {
      for (let i = 0; i < NODES; i++) histories[i] = await cluster.rounds(i)
      if (histories.every(h => h.some(x => x.round === rounds - 1))) break
      for (let i = 0; i < NODES; i++) if (!cluster.running(i)) throw new Error(`daemon ${i} exited (see ${join(dir, `node-${i}.log`)})`)
      if (Date.now() > deadline) throw new Error(`${s.name}: round ${rounds - 1} not applied by every daemon in time (logs in ${dir})`)
      await sleep(500)
    }
    const packets = await net.stats()
    const peerIds = cluster.nodes.map(n => n.peerId)
    const real = analyseReal(histories, peerIds, rounds)
    if (real.rounds.length === 0) throw new Error(`${s.name}: no clean round to compare (logs in ${dir})`)
    say(`  real: ${NODES} daemons up in ${(startupMs / 1000).toFixed(1)} s, rounds 0–${rounds - 1} applied` + (real.irregular.length > 0 ? `; rounds ${real.irregular.join(', ')} not clean (left out; logs in ${dir})` : ''))
    ok = real.irregular.length === 0
    // the same links with the daemons gone: one update fanned out, and all exchanged, three ways
    await cluster.stopAll()
    const drawn = tail(modelFanOutDraws(NODES, simLink(s), simDownlink(s), real.updateBytes))
    const exchangeModel = tail(modelExchangeFlows(NODES, simLink(s), simDownlink(s), real.updateBytes))
    const staggeredModel = tail(modelStaggeredFlows(NODES, simLink(s), simDownlink(s), real.updateBytes))
    const probe = { ...await probeFanOut(net, real.updateBytes, PROBE_REPS, drawn.p50), model: drawn, exchangeModel, staggeredModel }
    return { ...real, packets, startupMs, histories, probe }
  } finally {
    await cleanup()
    onCleanup(null)
    if (ok && !process.argv.some(a => a.startsWith('--raw='))) await rm(dir, { recursive: true, force: true })
    else say(`  daemon data and logs kept in ${dir}`)
  }
}

interface SimRun { rounds: RoundTimes[], virtualSeconds: number, replayed: number, modelled: number, /** for --raw */ events: Array<{ node: number, type: string, round?: number, at: number, startAt?: number, bytes?: number }> }

export async function simRun (s: Shape, rounds: number, real: RealRun, seed = SETTINGS.seed): Promise<SimRun> {
  const cfg = validateSimConfig({
    ...DEFAULT_SIM_CONFIG,
    ...SETTINGS,
    seed,
    nodes: NODES,
    rounds,
    partition: { kind: 'iid' },
    topology: { kind: 'full' },
    link: simLink(s),
    ...simDownlink(s) != null ? { downlinkMBps: simDownlink(s) } : {},
    // only used where no measured compute exists (never, in a clean run)
    stepMs: real.trainMs / SETTINGS.innerSteps,
    stragglerSigma: 0,
    baselines: false,
    evalEvery: rounds
  })
  const backend = await OnnxBackend.create(cfg, { device: 'cpu', threads: 1 })
  const announced = new Map<number, number>()
  const events: SimRun['events'] = []
  let replayed = 0
  let modelled = 0
  try {
    const sim = new Simulation(cfg, backend, undefined, {
      computeMs: (node, round) => {
        const ms = real.compute.get(key(node, round))
        if (ms != null) replayed++; else modelled++
        return ms
      },
      observe: (node, e) => {
        if (e.type === 'announced') announced.set(e.round, Math.max(announced.get(e.round) ?? -Infinity, e.at))
        if (e.type === 'applied') events.push({ node, type: e.type, round: e.commit.round, at: e.at })
        else if (e.type === 'fetched') events.push({ node, type: e.type, round: e.round, at: e.at, startAt: e.startAt, bytes: e.bytes })
        else if (e.type === 'announced' || e.type === 'setClosed' || e.type === 'roundStarted' || e.type === 'trained') events.push({ node, type: e.type, round: e.round, at: e.at })
      }
    })
    const result = await sim.run()
    const at = new Map(result.rounds.map(x => [x.round, 1000 * x.time]))
    const out: RoundTimes[] = []
    for (const { round } of real.rounds) {
      const a = at.get(round)
      const b = at.get(round - 1)
      if (a == null || b == null) continue
      out.push({ round, ms: a - b, tailMs: a - (announced.get(round) ?? NaN) })
    }
    return { rounds: out, virtualSeconds: result.virtualSeconds, replayed, modelled, events }
  } finally { await backend.close() }
}

interface ShapeResult {
  shape: Shape
  access: ReturnType<typeof accessLink>
  real: { roundMs: Spread, tailMs: Spread, foldMs: number, trainMs: number, perRound: RoundTimes[], startupMs: number, irregular: number[], packets: RealRun['packets'] }
  /** one update from one member to the three others, after 1 s idle: the model's time, kernel TCP's and the blob protocol's (ms) */
  probe: { modelMs: number, model: Tail, tcpMs: Spread, blobMs: Spread, exchange: { model: Tail, tcp: Tail, blob: Tail }, staggered: { model: Tail, tcp: Tail } }
  /** every update fetch of the compared rounds, start to last byte (ms): what the daemons saw and what the simulator made of it */
  fetchMs: { real: Tail, sim: Tail }
  /**
   * per compared round r: the last member's application of commit r − 1 after the first's (a
   * member cannot announce round r before it fetched round r − 1's updates and checked its commit)
   */
  applyLagMs: { real: Spread, sim: Spread }
  /** roundMs, tailMs: over SIM_SEEDS simulated runs pooled; perRound: the first (the daemons' seed) */
  sim: { roundMs: Spread, tailMs: Spread, seeds: number, perRound: RoundTimes[], computeReplayed: number, computeModelled: number }
  updateBytes: number
  /** the unshaped control, not a link shape */
  control: boolean
  /** sim / real, of the median round times */
  ratio: number
  tailRatio: number
  within: boolean
  seconds: number
}

async function benchShape (s: Shape, rounds: number, say: (m: string) => void, onCleanup: (fn: (() => Promise<void>) | null) => void): Promise<ShapeResult> {
  const t0 = Date.now()
  say(Number.isFinite(s.MBps) ? `${s.name}: one-way ${s.oneWayMs} ms, ${s.MBps} MB/s, loss ${(100 * s.loss).toFixed(1)}%` : `${s.name}: no delay, no rate limit (the control: what the daemons cost beyond any link)`)
  const real = await realRun(s, rounds, say, onCleanup)
  // one simulated run is one roll of its losses and elections: pool several seeds (the first is the daemons')
  const sims: SimRun[] = []
  for (let k = 0; k < SIM_SEEDS; k++) sims.push(await simRun(s, rounds, real, SETTINGS.seed + k))
  const sim = sims[0]
  const pooled = sims.flatMap(x => x.rounds)
  const raw = process.argv.find(a => a.startsWith('--raw='))?.slice(6)
  if (raw != null) await writeFile(`${raw}.${s.name}.json`, JSON.stringify({ histories: real.histories, sim: sim.events }))
  const compared = new Set(sim.rounds.map(x => x.round))
  const realRounds = real.rounds.filter(x => compared.has(x.round))
  const r = spread(realRounds.map(x => x.ms))
  const m = spread(pooled.map(x => x.ms))
  const rt = spread(realRounds.map(x => x.tailMs))
  const mt = spread(pooled.map(x => x.tailMs))
  const ratio = m.median / r.median
  const res: ShapeResult = {
    shape: s,
    access: accessLink(s),
    real: { roundMs: r, tailMs: rt, foldMs: median(real.foldMs.filter(Number.isFinite)), trainMs: real.trainMs, perRound: realRounds, startupMs: real.startupMs, irregular: real.irregular, packets: real.packets },
    sim: { roundMs: m, tailMs: mt, seeds: SIM_SEEDS, perRound: sim.rounds, computeReplayed: sim.replayed, computeModelled: sim.modelled },
    probe: {
      modelMs: real.probe.modelMs,
      model: real.probe.model,
      tcpMs: spread(real.probe.tcpMs),
      blobMs: spread(real.probe.blobMs),
      exchange: { model: real.probe.exchangeModel, tcp: tail(real.probe.exchange.tcpFlowMs), blob: tail(real.probe.exchange.blobFlowMs) },
      staggered: { model: real.probe.staggeredModel, tcp: tail(real.probe.staggered.tcpFlowMs) }
    },
    fetchMs: {
      real: tail(real.histories.flatMap(h => h.filter(x => compared.has(x.round)).flatMap(x => (x.timing?.fetches ?? []).filter(f => f.ok && f.kind === 'update').map(f => f.doneAt - f.startAt)))),
      sim: tail(sims.flatMap(x => x.events).filter(e => e.type === 'fetched' && compared.has(e.round ?? -1) && (e.bytes ?? 0) > 0).map(e => e.at - (e.startAt ?? e.at)))
    },
    applyLagMs: {
      real: spread([...compared].flatMap(r => {
        const at = real.histories.map(h => h.find(x => x.round === r - 1)?.timing?.appliedAt)
        return at.every(a => a != null) ? [Math.max(...at as number[]) - Math.min(...at as number[])] : []
      })),
      sim: spread(sims.flatMap(x => [...compared].flatMap(r => {
        const at = x.events.filter(e => e.type === 'applied' && e.round === r - 1).map(e => e.at)
        return at.length === NODES ? [Math.max(...at) - Math.min(...at)] : []
      })))
    },
    updateBytes: real.updateBytes,
    control: !Number.isFinite(s.MBps),
    ratio,
    tailRatio: mt.median / rt.median,
    within: Math.abs(ratio - 1) <= TOLERANCE,
    seconds: (Date.now() - t0) / 1000
  }
  const ms = (x: number): string => x.toFixed(0)
  say(`  round     real ms (tail)     sim ms (tail), seed ${SETTINGS.seed} (the daemons')`)
  for (const x of realRounds) {
    const y = sim.rounds.find(z => z.round === x.round)!
    say(`  ${String(x.round).padStart(5)} ${ms(x.ms).padStart(11)} (${ms(x.tailMs).padStart(4)}) ${ms(y.ms).padStart(12)} (${ms(y.tailMs).padStart(4)})`)
  }
  const lost = real.packets.reduce((a, [u, d]) => a + u.lost + d.lost, 0)
  const dropped = real.packets.reduce((a, [u, d]) => a + u.dropped + d.dropped, 0)
  const sent = real.packets.reduce((a, [u, d]) => a + u.sent + d.sent, 0)
  say(`  update ${(res.updateBytes / 1000).toFixed(0)} kB; training ${ms(real.trainMs)} ms per round (median); committer's fold ${ms(res.real.foldMs)} ms (not charged by the simulator); access links: ${sent} packets delivered, ${lost} lost, ${dropped} dropped at full queues`)
  const p = res.probe
  say(`  one update to the other ${NODES - 1} members after 1 s idle: model ${ms(p.modelMs)} ms (p10–p90 ${ms(p.model.p10)}–${ms(p.model.p90)} over 1000 draws), kernel TCP ${ms(p.tcpMs.median)} ms (${ms(p.tcpMs.min)}–${ms(p.tcpMs.max)}), ` +
    `libp2p blob protocol ${ms(p.blobMs.median)} ms (${ms(p.blobMs.min)}–${ms(p.blobMs.max)}); medians of ${PROBE_REPS}`)
  const x = p.exchange
  say(`  every member fetching the ${NODES - 1} others' updates at once, per transfer (p50 / p90): model ${ms(x.model.p50)} / ${ms(x.model.p90)} ms, ` +
    `kernel TCP ${ms(x.tcp.p50)} / ${ms(x.tcp.p90)} ms, libp2p blob protocol ${ms(x.blob.p50)} / ${ms(x.blob.p90)} ms (${PROBE_REPS} exchanges each)`)
  const sx = p.staggered
  say(`  the same with each update fetched from its own moment in [0, ${STAGGER_MS}) ms (as announces come in a round), per transfer (p50 / p90 / max): ` +
    `model ${ms(sx.model.p50)} / ${ms(sx.model.p90)} / ${ms(sx.model.max)} ms, kernel TCP ${ms(sx.tcp.p50)} / ${ms(sx.tcp.p90)} / ${ms(sx.tcp.max)} ms`)
  const f = res.fetchMs
  say(`  update fetches in the rounds compared (p50 / p90 / max): real ${ms(f.real.p50)} / ${ms(f.real.p90)} / ${ms(f.real.max)} ms, sim ${ms(f.sim.p50)} / ${ms(f.sim.p90)} / ${ms(f.sim.max)} ms`)
  const lag = res.applyLagMs
  say(`  the last member's application of the previous commit after the first's (median, max over rounds): real ${ms(lag.real.median)} / ${ms(lag.real.max)} ms, sim ${ms(lag.sim.median)} / ${ms(lag.sim.max)} ms`)
  say(`  → real ${ms(r.median)} ms (${ms(r.min)}–${ms(r.max)}), sim ${ms(m.median)} ms (${ms(m.min)}–${ms(m.max)}; ${SIM_SEEDS} seeds pooled): sim/real ${ratio.toFixed(2)} ${res.within ? 'within' : 'NOT within'} ${100 * TOLERANCE}%; tail real ${ms(rt.median)} ms, sim ${ms(mt.median)} ms (${res.tailRatio.toFixed(2)})`)
  return res
}

export async function benchLinks (opts: { json: boolean }): Promise<object> {
  const say = (s: string): void => { (opts.json ? process.stderr : process.stdout).write(s + '\n') }
  const arg = (name: string): string | undefined => process.argv.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const rounds = Number(arg('rounds') ?? DEFAULT_ROUNDS)
  if (!Number.isInteger(rounds) || rounds < 2 || rounds > 30) throw new Error(`--rounds must be an integer in [2, 30], got ${String(arg('rounds'))}`)
  const names = arg('shapes')?.split(',')
  const shapes = names == null ? SHAPES : names.map(n => SHAPES.find(s => s.name === n) ?? (() => { throw new Error(`unknown shape ${n} (known: ${SHAPES.map(s => s.name).join(', ')})`) })())
  const t0 = Date.now()
  say(`links: ${NODES} daemons, each in its own network namespace on an access link to a router (kernel TCP, ${CONGESTION_CONTROL}), against the simulator with the same settings ` +
    `(${SETTINGS.mode} mode, ${SETTINGS.codec}, ${SETTINGS.innerSteps} steps × batch ${SETTINGS.batch}) and each daemon's measured local work replayed; rounds 1–${rounds - 1} compared (round 0 is start-up).`)
  // a Ctrl-C still stops the daemons and removes the namespaces
  let pending: (() => Promise<void>) | null = null
  const onSignal = (sig: NodeJS.Signals): void => { void (pending?.() ?? Promise.resolve()).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const results: ShapeResult[] = []
  try {
    for (const s of shapes) results.push(await benchShape(s, rounds, say, fn => { pending = fn }))
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  // the control's tails are what the daemons cost beyond any link: take them off both sides
  const control = results.find(r => !Number.isFinite(r.shape.MBps))
  const beyondControl = control == null
    ? []
    : results.filter(r => r !== control).map(r => {
      const real = r.real.tailMs.median - control.real.tailMs.median
      const sim = r.sim.tailMs.median - control.sim.tailMs.median
      say(`${r.shape.name}: tail beyond the control's, real ${real.toFixed(0)} ms, sim ${sim.toFixed(0)} ms (${(sim / real).toFixed(2)})`)
      return { shape: r.shape.name, realTailMs: real, simTailMs: sim, ratio: sim / real }
    })
  const seconds = (Date.now() - t0) / 1000
  const shaped = results.filter(r => r !== control)
  say(`links: ${shaped.filter(r => r.within).length} of ${shaped.length} link shapes within ${100 * TOLERANCE}% (sim/real of the median round time)` +
    (control != null ? `; the control (no shaping) ${control.ratio.toFixed(2)}` : '') + ` in ${seconds.toFixed(0)} s`)
  return { bench: 'links', nodes: NODES, rounds, settings: SETTINGS, congestionControl: CONGESTION_CONTROL, tolerance: TOLERANCE, seconds, shapes: results, beyondControl }
}
