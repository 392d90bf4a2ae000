// `tapestry demo`: N real daemons on 127.0.0.1 train MNIST together; progress, then a summary.
import type { Command } from 'commander'
import { LocalCluster, sleep } from '../../daemon/cluster.js'
import type { RoundHistory } from '../../daemon/node.js'
import { parseIntFlag } from '../parse.js'
import { UsageError } from '../errors.js'
import { rm } from 'node:fs/promises'

export interface DemoSummary {
  nodes: number
  rounds: number
  finalAccuracy: number | null
  /** language models (--model gpt): held-out bits per byte on the daemons' fixed held-out sample */
  finalHeldOutBitsPerByte: number | null
  finalLoss: number | null
  bytesSent: number
  bytesDense: number
  compression: number
  aggregators: string[]
  dir: string
  seconds: number
}

/** Demo settings: small rounds so a laptop finishes in a minute or two. */
export const DEMO_CONFIG = {
  innerSteps: 50,
  batch: 32,
  codec: 'topk:0.03+q4',
  deadlineMs: 15_000,
  collectMs: 6_000,
  backupStepMs: 6_000,
  partition: 'iid',
  threads: 1
}

/** `--model gpt`: the byte-level GPT on the State of the Union addresses, one speaker group per node, shorter rounds. */
export const DEMO_GPT_CONFIG = {
  model: 'gpt' as const,
  data: 'sotu' as const,
  partition: 'speaker',
  innerSteps: 16,
  batch: 16,
  codec: 'topk:0.01+q4',
  deadlineMs: 120_000,
  collectMs: 60_000,
  backupStepMs: 30_000
}

export interface DemoOptions {
  /** mlp on MNIST (default) or gpt on SOTU */
  model?: 'mlp' | 'gpt'
  nodes: number
  rounds: number
  dir?: string
  /** update mode and, for hierarchical, members per group @default gossip */
  mode?: 'gossip' | 'aggregator' | 'hierarchical'
  groupSize?: number
  /**
   * keep the daemons running after the rounds (until interrupted) and their data dirs afterwards,
   * to explore them with status, rounds, the status page; otherwise a temp dir is removed at the end
   */
  keep?: boolean
  json: boolean
  say: (s: string) => void
}

export async function runDemo (o: DemoOptions): Promise<DemoSummary> {
  const t0 = Date.now()
  const config = { ...DEMO_CONFIG, ...(o.model === 'gpt' ? DEMO_GPT_CONFIG : {}), mode: o.mode ?? 'gossip', ...(o.groupSize != null ? { groupSize: o.groupSize } : {}) }
  const keep = o.keep === true
  // with --keep the daemons run on past the rounds shown (0: until stopped)
  const cluster = await LocalCluster.create({ nodes: o.nodes, rounds: keep ? 0 : o.rounds, dir: o.dir, config, minMembers: o.nodes, env: { TAPESTRY_LOG: 'info' } })
  o.say(`starting ${o.nodes} daemons in ${cluster.dir}`)
  try {
    await cluster.startAll()
    const histories: RoundHistory[][] = cluster.nodes.map(() => [])
    let shown = -1
    const timeoutMs = 60_000 + o.rounds * (o.model === 'gpt' ? 600_000 : 60_000)
    await cluster.waitFor('every node to finish its rounds', async () => {
      for (let i = 0; i < cluster.nodes.length; i++) {
        if (cluster.running(i)) { const r = await cluster.rounds(i); if (r.length >= histories[i].length) histories[i] = r }
      }
      // a round is shown once every node has applied it
      const done = Math.min(...histories.map(h => h.length)) - 1
      while (shown < done) {
        shown++
        const rows = histories.map(h => h[shown])
        const sent = rows.reduce((a, r) => a + r.bytes, 0)
        const dense = rows.reduce((a, r) => a + r.bytesDense, 0)
        const r = rows[0]
        o.say(`round ${String(r.round).padStart(2)}  aggregator ${r.aggregator.slice(-8)} (rank ${r.rank})  updates ${r.included}  loss ${r.loss?.toFixed(4) ?? '-'}  ${r.bitsPerByte != null ? `${r.bitsPerByte.toFixed(3)} bits/byte` : `accuracy ${r.accuracy != null ? (100 * r.accuracy).toFixed(2) + '%' : '-'}`}  bytes ${(sent / 1e6).toFixed(2)} MB vs dense ${(dense / 1e6).toFixed(1)} MB`)
      }
      return shown >= o.rounds - 1 || cluster.nodes.every((_, i) => !cluster.running(i))
    }, timeoutMs, 500)
    const last = histories.map(h => h[h.length - 1]).filter(r => r != null)
    const bytesSent = last.reduce((a, r) => a + r.bytes, 0)
    const bytesDense = last.reduce((a, r) => a + r.bytesDense, 0)
    if (keep) await exploreUntilInterrupted(cluster, o.say)
    return {
      nodes: o.nodes,
      rounds: Math.min(...histories.map(h => h.length)),
      finalAccuracy: last[0]?.accuracy ?? null,
      finalHeldOutBitsPerByte: last[0]?.bitsPerByte ?? null,
      finalLoss: last[0]?.loss ?? null,
      bytesSent,
      bytesDense,
      compression: bytesDense / Math.max(1, bytesSent),
      aggregators: histories[0].map(r => r.aggregator),
      dir: cluster.dir,
      seconds: (Date.now() - t0) / 1000
    }
  } finally {
    await cluster.stopAll()
    await sleep(100)
    // a temp dir of ours goes (16–76 MB a run); one the user named, or asked to keep, stays
    if (o.dir == null && !keep) await rm(cluster.dir, { recursive: true, force: true })
  }
}

/** --keep: say how to look around, then wait for Ctrl-C (or SIGTERM) before the daemons stop. */
async function exploreUntilInterrupted (cluster: LocalCluster, say: (s: string) => void): Promise<void> {
  const status = await cluster.query(0, 'status').catch(() => undefined)
  say('the daemons keep running; look around:')
  if (status?.opsUrl != null) say(`  status page  ${status.opsUrl}   metrics ${status.opsUrl}metrics`)
  for (const n of cluster.nodes) say(`  node ${n.index}       tapestry status --data-dir ${n.dataDir}`)
  say('press Ctrl-C to stop them (their data dirs stay)')
  await new Promise<void>(resolve => {
    const done = (): void => { process.off('SIGINT', done); process.off('SIGTERM', done); resolve() }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
}

export function registerDemo (program: Command): void {
  program.command('demo')
    .description('start N real daemons on 127.0.0.1 that train together (MNIST, or --model gpt on SOTU), show progress and a summary')
    .option('--nodes <n>', 'number of daemons', '4')
    .option('--rounds <n>', 'rounds to train', '10')
    .option('--dir <dir>', 'parent directory for the nodes\' data dirs (default: a temp dir)')
    .option('--mode <mode>', 'gossip | aggregator | hierarchical', 'gossip')
    .option('--model <name>', 'mlp (MNIST digits) | gpt (byte-level GPT on the State of the Union addresses, sharded by speaker; slow on a laptop: minutes per round)', 'mlp')
    .option('--group-size <n>', 'hierarchical mode: members per group', '2')
    .option('--keep', 'after the rounds, keep the daemons running (until Ctrl-C) and their data dirs, to explore them; without it a temp dir is removed at the end', false)
    .option('--json', 'print one JSON object on stdout', false)
    .action(async (raw: Record<string, unknown>) => {
      const nodes = parseIntFlag('nodes', raw.nodes as string, 2, 32)
      const rounds = parseIntFlag('rounds', raw.rounds as string, 1, 1000)
      const mode = raw.mode as string
      if (mode !== 'gossip' && mode !== 'aggregator' && mode !== 'hierarchical') throw new UsageError(`--mode must be gossip, aggregator or hierarchical, got "${mode}"`)
      const groupSize = parseIntFlag('group-size', raw.groupSize as string, 2, 32)
      const model = raw.model as string
      if (model !== 'mlp' && model !== 'gpt') throw new UsageError(`--model must be mlp or gpt, got "${model}"`)
      const json = raw.json === true
      const say = (s: string): void => { (json ? process.stderr : process.stdout).write(s + '\n') }
      const keep = raw.keep === true
      const s = await runDemo({ model, nodes, rounds, dir: raw.dir as string | undefined, mode, groupSize: mode === 'hierarchical' ? groupSize : undefined, keep, json, say })
      if (json) { process.stdout.write(JSON.stringify(s) + '\n'); return }
      say(`done: ${s.nodes} nodes, ${s.rounds} rounds in ${s.seconds.toFixed(0)} s; ${s.finalHeldOutBitsPerByte != null ? `${s.finalHeldOutBitsPerByte.toFixed(3)} bits/byte held out` : `accuracy ${s.finalAccuracy != null ? (100 * s.finalAccuracy).toFixed(2) + '%' : '-'}`}; ` +
        `${(s.bytesSent / 1e6).toFixed(2)} MB on the wire vs ${(s.bytesDense / 1e6).toFixed(1)} MB dense (${s.compression.toFixed(0)}× less); aggregators ${[...new Set(s.aggregators)].length} distinct; ${raw.dir != null || keep ? `data dirs and logs in ${s.dir}` : 'temp data removed (--keep or --dir to keep it)'}`)
    })
}
