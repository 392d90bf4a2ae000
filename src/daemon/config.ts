// The node's config file (config.json in its data directory), validated with zod: a bad file is
// one clear error naming the field, before anything starts.
import { z } from 'zod'
import { readFile } from 'node:fs/promises'
import { checkFoldFeasible, foldWidth, parseFoldSpec } from '../aggregate/index.js'
import { parsePartition } from '../data/index.js'
import { RunSettingsSchema, checkRunSettings, settingsIssue } from '../round/index.js'
import { parseBootstrapList } from '../net/bootstrap-keeper.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

/** The run settings (src/round/settings.ts: model, codecs, timing, quorum, outer optimizer, ...) plus what only this node decides. */
export const NodeConfigSchema = RunSettingsSchema.extend({
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
  /**
   * this node's shard: `shard` of `shards` under `partition` of the shipped dataset (institutions
   * would bring their own data, so this is the node's, not the run's; the simulator's experiments
   * default to Dirichlet 0.5, a node to an even split)
   */
  partition: z.string().refine(s => { try { parsePartition(s); return true } catch { return false } }, { message: 'iid or dirichlet:<alpha>' }).default('iid'),
  shards: z.number().int().min(1).default(1),
  shard: z.number().int().min(0).default(0),
  /** election weight this node claims (to come from the run manifest) */
  capacity: z.number().positive().default(1),
  /** peer ids of the run's founding members: round 0's electorate */
  members: z.array(z.string()).min(1),
  /** stop after this many rounds (0 = run until stopped) */
  maxRounds: z.number().int().min(0).default(0),
  /** keep blobs of this many recent rounds; older ones are garbage-collected */
  keepRounds: z.number().int().min(1).default(3)
}).strict()
  .superRefine(checkRunSettings)
  .refine(c => c.shard < c.shards, { message: 'shard must be < shards', path: ['shard'] })
  .superRefine((c, ctx) => {
    // the founding members bound every fold: a rule needing more can never run (ERR_AGGREGATE_RULE_INFEASIBLE)
    let spec
    try { spec = parseFoldSpec(c.rule) } catch { return } // already reported on the field
    const err = checkFoldFeasible(spec, foldWidth(c.members.length, c.mode === 'hierarchical' ? c.groupSize : undefined))
    if (err != null) ctx.addIssue({ code: 'custom', path: ['rule'], message: `${err.message} (${err.code})`, params: { cause: err } })
  })

export type NodeConfig = z.infer<typeof NodeConfigSchema>

export function parseNodeConfig (obj: unknown, source = 'config'): NodeConfig {
  const r = NodeConfigSchema.safeParse(obj)
  if (!r.success) {
    const { field, message } = settingsIssue(r.error)
    const custom = r.error.issues.find(i => i.code === 'custom' && i.params?.cause !== undefined)
    const cause = custom?.code === 'custom' ? custom.params?.cause : undefined
    throw new DaemonError(DaemonErrorCode.BadConfig, `${source}: ${field}: ${message}`, field, cause === undefined ? undefined : { cause })
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
