// The node's config file (config.json in its data directory), validated with zod: a bad file is
// one clear error naming the field, before anything starts.
import { z } from 'zod'
import { readFile } from 'node:fs/promises'
import { checkFoldFeasible, foldWidth, parseFoldSpec } from '../aggregate/index.js'
import { parsePartition } from '../data/index.js'
import { RunSettingsSchema, RUN_SETTING_KEYS, checkRunSettings, settingsIssue, type RunSettings } from '../round/index.js'
import { parseBootstrapList } from '../net/bootstrap-keeper.js'
import { DaemonError, DaemonErrorCode } from './errors.js'

/** The run settings (src/round/settings.ts: model, codecs, timing, quorum, outer optimizer, ...) plus what only this node decides. */
/**
 * The run settings (src/round/settings.ts: model, codecs, timing, quorum, outer optimizer, ...) plus
 * what only this node decides. The run itself (its id, members, admins, minimum members) is the
 * signed manifest in run.json; the settings here must equal the manifest's or the node refuses to
 * start (ERR_MANIFEST_SETTINGS, naming each differing field).
 */
export const NodeConfigSchema = RunSettingsSchema.extend({
  /** libp2p listen addresses; `tapestry init` turns a port 0 into a free port once, so the address given to partners survives restarts */
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0']).describe('libp2p listen multiaddrs; a port 0 becomes a free port at init, once'),
  /** multiaddrs (with /p2p/<id>) dialled at start and redialled while unreachable */
  bootstrap: z.array(z.string().refine(s => { try { parseBootstrapList([s]); return true } catch { return false } }, { message: 'a multiaddr ending in /p2p/<peer id>' })).default([]).describe('multiaddrs (…/p2p/<peer id>) dialled at start and redialled while unreachable'),
  mdns: z.boolean().default(false).describe('discover members on the LAN with mDNS'),
  /** serve as a circuit relay v2 for the run's members (only for members, with limits) */
  relayServe: z.boolean().default(true).describe("serve as a relay for the run's members (members only; limits per connection)"),
  /**
   * relay reservations held on reachable members: a node behind a NAT that admits no inbound
   * connection is reached through them. auto: 1 unless every listen address is loopback
   */
  relayReservations: z.union([z.literal('auto'), z.number().int().min(0).max(4)]).default('auto').describe('relay reservations to hold on reachable members: auto (1 unless listening on loopback only) or 0 … 4'),
  /** ask the LAN gateway for port mappings (UPnP IGD); skipped when every listen address is loopback */
  upnp: z.boolean().default(true).describe('ask the LAN gateway for port mappings (UPnP); skipped when listening on loopback only'),
  /**
   * large blob ranges go over TCP connections of their own with TLS-PSK (blob.md §7): 1.3–1.6× the
   * libp2p stream on loopback, about even over a 40 ms path with large TCP buffers, 0.91× with the
   * usual ones (one more round trip per range; bench net): off unless members share a fast, short network
   */
  bulkTransfer: z.boolean().default(false).describe('send and fetch large blob ranges over a separate TLS-PSK TCP connection (faster on a fast LAN, slower over long paths; the libp2p stream stays the fallback)'),
  /** smallest range sent or fetched over bulk transfer */
  bulkMinBytes: z.number().int().min(65_536).default(4 * 1024 * 1024).describe('smallest blob range sent or fetched over bulk transfer, bytes (≥ 65536)'),
  /** the bulk transfer port, on the IP of the first TCP listen address; 0 picks a free one at each start */
  bulkPort: z.number().int().min(0).max(65535).default(0).describe('TCP port for bulk transfers on the first TCP listen address (0: a free one at each start; open it in a firewall, or requesters fall back to the libp2p stream)'),
  /** control API port on 127.0.0.1; 0 picks a free one */
  controlPort: z.number().int().min(0).max(65535).default(0).describe('control API port on 127.0.0.1 (0: a free one, written to control.json)'),
  /** Prometheus metrics (/metrics) and the status page (/) on 127.0.0.1; 0 picks a free one (status shows it) */
  opsPort: z.number().int().min(0).max(65535).default(0).describe('status page and Prometheus /metrics on 127.0.0.1 (0: a free one; status prints it)'),
  device: z.enum(['auto', 'cuda', 'cpu']).default('auto').describe('ONNX Runtime execution provider: auto (CUDA when installed), cuda or cpu'),
  threads: z.number().int().min(1).max(256).optional().describe('ONNX Runtime intra-op threads (default: its own choice)'),
  /**
   * this node's shard: `shard` of `shards` under `partition` of the shipped dataset (institutions
   * would bring their own data, so this is the node's, not the run's; the simulator's experiments
   * default to Dirichlet 0.5, a node to an even split)
   */
  partition: z.string().refine(s => { try { parsePartition(s); return true } catch { return false } }, { message: 'iid, dirichlet:<alpha>, speaker, era or group:<name>' }).default('iid').describe('how the shipped dataset is split into shards: iid, dirichlet:<alpha>, speaker, era, group:<name>'),
  shards: z.number().int().min(1).default(1).describe('number of shards of the shipped dataset'),
  /** the ONNX file of a run whose model is onnx:<sha256>: checked against that hash at start */
  modelPath: z.string().min(1).optional().describe('the ONNX file of a run whose model is onnx:<sha256> (checked against the hash)'),
  /** this node's own text (a folder of .txt or a .jsonl): trained instead of a shard of the shipped corpus; it never leaves the node */
  dataPath: z.string().min(1).optional().describe("this node's own data (a folder of .txt, a .jsonl or a .csv), trained instead of a shard"),
  shard: z.number().int().min(0).default(0).describe("this node's shard of the shipped dataset (0 … shards − 1)"),
  /**
   * what this node says of its data in the run's catalog (the DHT; `tapestry catalog`): a name, its
   * language, licence and a description. Never the data; its size is counted here. Absent: nothing published
   */
  catalog: z.strictObject({
    name: z.string().min(1).max(200),
    language: z.string().max(50).optional(),
    licence: z.string().max(100).optional(),
    description: z.string().max(1000).optional()
  }).optional().describe('JSON {name, language, licence, description} of this node\'s data for the run\'s catalog (never the data)'),
  /** stop after this many rounds (0 = run until stopped) */
  maxRounds: z.number().int().min(0).default(0).describe('stop after this many rounds (0: run until stopped)'),
  /** keep blobs of this many recent rounds; older ones are garbage-collected */
  keepRounds: z.number().int().min(1).default(3).describe('keep the blobs of this many recent rounds (older ones are collected)')
}).strict()
  .superRefine(checkRunSettings)
  .refine(c => c.shard < c.shards, { message: 'shard must be < shards', path: ['shard'] })

/** The run settings part of a node config (what must equal the manifest's). */
export function runSettingsOf (c: NodeConfig): RunSettings {
  const out: Record<string, unknown> = {}
  for (const k of RUN_SETTING_KEYS) if ((c as Record<string, unknown>)[k] !== undefined) out[k] = (c as Record<string, unknown>)[k]
  return out as RunSettings
}

/**
 * A fold rule needing more inputs than a run can ever have cannot run (ERR_AGGREGATE_RULE_INFEASIBLE):
 * checked against the larger of the founding members and the minimum before round 0.
 */
export function checkRuleFeasible (settings: RunSettings, members: number): void {
  const spec = parseFoldSpec(settings.rule)
  const err = checkFoldFeasible(spec, foldWidth(members, settings.mode === 'hierarchical' ? settings.groupSize : undefined))
  if (err != null) throw new DaemonError(DaemonErrorCode.BadConfig, `rule: ${err.message} (${err.code})`, 'rule', { cause: err })
}

export type NodeConfig = z.infer<typeof NodeConfigSchema>

export function parseNodeConfig (obj: unknown, source = 'config'): NodeConfig {
  const r = NodeConfigSchema.safeParse(obj)
  if (!r.success) {
    const { field, message } = settingsIssue(r.error, Object.keys(NodeConfigSchema.shape))
    const custom = r.error.issues.find(i => i.code === 'custom' && i.params?.cause !== undefined)
    const cause = custom?.code === 'custom' ? custom.params?.cause : undefined
    throw new DaemonError(DaemonErrorCode.BadConfig, `${source}: ${field}: ${message}`, field, cause === undefined ? undefined : { cause })
  }
  return r.data
}

/**
 * Config fields from the environment: `TAPESTRY_<FIELD>` with the field in SCREAMING_SNAKE_CASE
 * (`TAPESTRY_OPS_PORT=9464` → opsPort, `TAPESTRY_LISTEN=/ip4/…,/ip4/…`). Values are JSON where
 * they parse (numbers, booleans, arrays), else text; a list field also takes a comma list. Other
 * TAPESTRY_ variables (TAPESTRY_LOG …) are not config fields and are left alone.
 */
export function configFromEnv (env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(NodeConfigSchema.shape)) {
    const raw = env[`TAPESTRY_${key.replace(/[A-Z]/g, c => `_${c}`).toUpperCase()}`]
    if (raw === undefined) continue
    let v: unknown = raw
    try { v = JSON.parse(raw) } catch {}
    const shape = NodeConfigSchema.shape[key as keyof typeof NodeConfigSchema.shape] as { parse: (x: unknown) => unknown }
    let sample: unknown
    try { sample = shape.parse(undefined) } catch {}
    if (Array.isArray(sample) && typeof v === 'string') v = v.split(',').map(s => s.trim()).filter(s => s !== '')
    out[key] = v
  }
  return out
}

/**
 * The node's config: config.json, then the environment over it (configFromEnv), then `overrides`
 * (the command's flags) over both. Each layer is checked as one config, so a bad field names itself.
 */
export async function loadNodeConfig (path: string, overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Promise<NodeConfig> {
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    throw new DaemonError(DaemonErrorCode.NoDataDir, `cannot read ${path}: ${(err as Error).message} (run \`tapestry init\` first)`)
  }
  let obj: unknown
  try { obj = JSON.parse(text) } catch (err) {
    throw new DaemonError(DaemonErrorCode.BadConfig, `${path}: not valid JSON (${(err as Error).message})`)
  }
  const layered = { ...(obj as Record<string, unknown>), ...configFromEnv(env), ...overrides }
  return parseNodeConfig(layered, path)
}
