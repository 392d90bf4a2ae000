// The node's config file (config.json in its data directory), validated with zod: a bad file is
// one clear error naming the field, before anything starts.
import { z } from 'zod'
import { readFile } from 'node:fs/promises'
import { parseSpec } from '../compress/index.js'
import { checkFoldFeasible, foldWidth, parseFoldSpec } from '../aggregate/index.js'
import { parsePartition } from '../data/index.js'
import { parseBootstrapList } from '../net/bootstrap-keeper.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

const codecSpec = z.string().refine(s => { try { parseSpec(s); return true } catch { return false } }, { message: 'not a valid codec spec (e.g. topk:0.01+q4)' })

export const NodeConfigSchema = z.object({
  /** the run this node belongs to: topic and protocol namespace */
  runId: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore'),
  /** libp2p listen addresses */
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0']),
  /** multiaddrs (with /p2p/<id>) dialled at start and redialled while unreachable */
  bootstrap: z.array(z.string().refine(s => { try { parseBootstrapList([s]); return true } catch { return false } }, { message: 'a multiaddr ending in /p2p/<peer id>' })).default([]),
  mdns: z.boolean().default(false),
  /** control API port on 127.0.0.1; 0 picks a free one */
  controlPort: z.number().int().min(0).max(65535).default(0),
  device: z.enum(['auto', 'cuda', 'cpu']).default('auto'),
  threads: z.number().int().min(1).max(256).optional(),
  model: z.literal('mlp').default('mlp'),
  data: z.literal('mnist').default('mnist'),
  /** this node's shard: `shard` of `shards` under `partition` (institutions would bring their own data) */
  partition: z.string().refine(s => { try { parsePartition(s); return true } catch { return false } }, { message: 'iid or dirichlet:<alpha>' }).default('iid'),
  shards: z.number().int().min(1).default(1),
  shard: z.number().int().min(0).default(0),
  /** seed of θ_0 and data splits: the same for every member of a run */
  seed: z.number().int().min(0).default(1),
  innerSteps: z.number().int().min(1).max(100_000).default(50),
  batch: z.number().int().min(1).max(65_536).default(32),
  innerLr: z.number().positive().default(1e-3),
  codec: codecSpec.default('topk:0.03+q4'),
  aggregateCodec: codecSpec.default('int8'),
  mode: z.enum(['gossip', 'aggregator', 'hierarchical']).default('gossip'),
  /** hierarchical mode: members per group, and the codec of a group fold */
  groupSize: z.number().int().min(2).default(16),
  subAggregateCodec: codecSpec.default('int8'),
  rule: z.string().refine(s => { try { parseFoldSpec(s); return true } catch { return false } }, { message: 'mean | median | trimmed:<b> | krum:<f>' }).default('mean'),
  outerLr: z.number().positive().default(1),
  outerMomentum: z.number().min(0).lt(1).default(0.6),
  deadlineMs: z.number().int().positive().default(20_000),
  collectMs: z.number().int().positive().default(8_000),
  backupStepMs: z.number().int().positive().default(8_000),
  quorum: z.number().gt(0).max(1).default(0.75),
  backups: z.number().int().min(0).default(2),
  capacity: z.number().positive().default(1),
  /** peer ids of the run's founding members: round 0's electorate */
  members: z.array(z.string()).min(1),
  /** stop after this many rounds (0 = run until stopped) */
  maxRounds: z.number().int().min(0).default(0),
  /** keep blobs of this many recent rounds; older ones are garbage-collected */
  keepRounds: z.number().int().min(1).default(3)
}).strict()
  .refine(c => c.shard < c.shards, { message: 'shard must be < shards', path: ['shard'] })
  .refine(c => c.collectMs <= c.deadlineMs, { message: 'collectMs must not exceed deadlineMs', path: ['collectMs'] })
  .superRefine((c, ctx) => {
    // the founding members bound every fold: a rule needing more can never run (ERR_AGG_RULE_INFEASIBLE)
    let spec
    try { spec = parseFoldSpec(c.rule) } catch { return } // already reported on the field
    const err = checkFoldFeasible(spec, foldWidth(c.members.length, c.mode === 'hierarchical' ? c.groupSize : undefined))
    if (err != null) ctx.addIssue({ code: 'custom', path: ['rule'], message: `${err.message} (${err.code})`, params: { cause: err } })
  })

export type NodeConfig = z.infer<typeof NodeConfigSchema>

export function parseNodeConfig (obj: unknown, source = 'config'): NodeConfig {
  const r = NodeConfigSchema.safeParse(obj)
  if (!r.success) {
    const issue = r.error.issues[0]
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)'
    const cause = issue.code === 'custom' ? issue.params?.cause : undefined
    throw new DaemonError(DaemonErrorCode.BadConfig, `${source}: ${where}: ${issue.message}`, cause === undefined ? undefined : { cause })
  }
  return r.data
}

export async function loadNodeConfig (path: string): Promise<NodeConfig> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new DaemonError(DaemonErrorCode.NoDataDir, `cannot read ${path}: ${(err as Error).message} (run \`tapestry init\` first)`)
  }
  let obj: unknown
  try { obj = JSON.parse(text) } catch (err) {
    throw new DaemonError(DaemonErrorCode.BadConfig, `${path}: not valid JSON (${(err as Error).message})`)
  }
  return parseNodeConfig(obj, path)
}
