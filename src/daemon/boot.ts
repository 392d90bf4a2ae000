// A node's components opened from its data directory, in the order that lets every fatal error
// (bad config, corrupt store, unavailable device) surface before libp2p starts listening.
import type { Logger } from 'pino'
import { FsDatastore } from 'datastore-fs'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { addressKind, BulkServer, createTapestryHost, ipOf, type TapestryNatOptions } from '../net/index.js'
import { multiaddr } from '@multiformats/multiaddr'
import { BatchSampler, parsePartition, shard, thinTokenEval, type Dataset } from '../data/index.js'
import { DaemonError, DaemonErrorCode } from './errors.js'
import { Trainer, DEFAULT_INNER_OPTIMIZER, isOnnxRef, loadDataFor, loadLocalCsvSplit, loadLocalTextSplit, loadOnnxModelFile, modelSpec, fusedCount, onnxRef, type OnnxRef } from '../train/index.js'
import { Rng } from '../tensor/index.js'
import type { ModelSpec } from '../graph/index.js'
import type { EngineSnapshot } from '../round/index.js'
import { loadNodeConfig, runSettingsOf, type NodeConfig } from './config.js'
import { loadRun, loadRoster } from './run-files.js'
import { RunMembers } from './members.js'
import { assertSettingsAgree } from '../manifest/index.js'
import { dataDirPaths, loadIdentity, readToken } from './datadir.js'
import { DiskBlobStore } from './disk-blob-store.js'
import { ChainStore } from './chain-store.js'
import type { NodeComponents } from './node.js'
import { PrivacyLedger } from './privacy-ledger.js'
import { NodeMetrics } from './metrics.js'
import { createPrivacySettings } from '../privacy/index.js'

/** The IP the bulk transfer port listens on: the first TCP listen address's; undefined when there is none. */
export function bulkListenIp (listen: readonly string[]): string | undefined {
  for (const a of listen) {
    const ip = ipOf(multiaddr(a), ['tcp'])
    if (ip != null) return ip
  }
  return undefined
}

/** Loopback-only nodes (tests, one-host runs) have no NAT to cross: no reservation, no UPnP. */
export function natOptions (cfg: Pick<NodeConfig, 'listen' | 'relayServe' | 'relayReservations' | 'upnp'>): TapestryNatOptions {
  const loopbackOnly = cfg.listen.every(a => addressKind(multiaddr(a)) === 'loopback')
  return {
    relayServe: cfg.relayServe,
    relayReservations: cfg.relayReservations === 'auto' ? (loopbackOnly ? 0 : 1) : cfg.relayReservations,
    upnp: cfg.upnp && !loopbackOnly
  }
}

/** The run's ONNX model file: named by its sha256 in the manifest, held by every member at `modelPath`. */
async function loadRunModelFile (ref: OnnxRef, path: string | undefined): Promise<void> {
  if (path == null) throw new DaemonError(DaemonErrorCode.BadConfig, `modelPath: the run trains ONNX model ${ref.slice(0, 17)}…: set modelPath to its file (tapestry init --force --set modelPath=/path/model.onnx)`, 'modelPath')
  const { spec } = await loadOnnxModelFile(path)
  if (onnxRef(spec) !== ref) throw new DaemonError(DaemonErrorCode.BadConfig, `modelPath: ${path} has sha256 ${spec.id.slice(0, 12)}…, the run's model is ${ref.slice(5, 17)}…: not the same file`, 'modelPath')
}

/** A node's own text, checked against the schema of the run's dataset before anything starts. */
function ownData (path: string, schema: Dataset, runData: string): Dataset {
  if (schema.kind === 'classification') {
    if (!path.toLowerCase().endsWith('.csv')) throw new DaemonError(DaemonErrorCode.BadConfig, `dataPath: run data ${runData} is labelled rows: a node's own data for it is a .csv`, 'dataPath')
    const own = loadLocalCsvSplit(path, schema.numClasses).train
    const want = schema.featureShape.reduce((a, b) => a * b, 1)
    if (own.featureShape[0] !== want) throw new DaemonError(DaemonErrorCode.BadConfig, `dataPath: ${path} has ${own.featureShape[0]} feature columns, the run's data has ${want}`, 'dataPath')
    return { ...own, featureShape: schema.featureShape }
  }
  if (path.toLowerCase().endsWith('.csv')) throw new DaemonError(DaemonErrorCode.BadConfig, `dataPath: run data ${runData} is text: a node's own data for it is a folder of .txt or a .jsonl`, 'dataPath')
  const own = loadLocalTextSplit(path, schema.context)
  // the held-out part of a node's own text stays unused: every member evaluates on the run's held-out set
  if (own.train.vocabSize !== schema.vocabSize) throw new DaemonError(DaemonErrorCode.BadConfig, `dataPath: vocabulary ${own.train.vocabSize}, the run's is ${schema.vocabSize}`, 'dataPath')
  return own.train
}

/** A language model's per-round evaluation: this many evenly spaced held-out windows (a full pass costs minutes). */
const DAEMON_EVAL_WINDOWS = 256

export async function openComponents (dataDir: string, log: Logger, overrides: Record<string, unknown> = {}): Promise<NodeComponents> {
  const paths = dataDirPaths(dataDir)
  // the run first: a data dir from before manifests gets the one instruction that fixes it
  const manifest = await loadRun(paths)
  const cfg = await loadNodeConfig(paths.config, overrides)
  // a node whose settings differ from the run's would split from it: refuse, naming every field
  assertSettingsAgree(manifest, runSettingsOf(cfg))
  const key = await loadIdentity(paths)
  const self = peerIdFromPrivateKey(key).toString()
  const token = await readToken(paths)
  const blobs = new DiskBlobStore(paths.blobs, { onWriteError: (cid, err) => { log.warn({ cid, err: String(err) }, 'blob file not written (still served from memory)') } })
  await blobs.open()
  const store = new ChainStore(paths.chain, paths.state)
  await store.open()
  // before the trainer and libp2p start: an unreadable ledger is fatal, like a corrupt store
  const privacy = cfg.dpClipNorm > 0 ? await PrivacyLedger.open(paths.state, createPrivacySettings({ clipNorm: cfg.dpClipNorm, noiseMultiplier: cfg.dpNoiseMultiplier, delta: cfg.dpDelta })) : null

  if (isOnnxRef(cfg.model)) await loadRunModelFile(cfg.model, cfg.modelPath)
  const shipped = loadDataFor(cfg.model, cfg.data)
  const test = shipped.test
  const model: ModelSpec = modelSpec(cfg.model, shipped.train)
  // the node's own data, when it has some: it must have the run's schema (kind, vocabulary, window),
  // it is trained whole (no shard), and only its size leaves the node (the announce's sample count)
  const own = cfg.dataPath != null ? ownData(cfg.dataPath, shipped.train, cfg.data) : undefined
  const train = own ?? shipped.train
  const rows = own != null ? Int32Array.from({ length: own.n }, (_, i) => i) : shard(train, cfg.shards, parsePartition(cfg.partition), cfg.seed)[cfg.shard]
  const trainer = await Trainer.create({ model, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: fusedCount(cfg.innerSteps), device: cfg.device, threads: cfg.threads, seed: cfg.seed })
  let restored: EngineSnapshot | null
  try {
    restored = (await store.loadSnapshot(trainer.layout)) ?? null
    // the log ends where the snapshot does: commits whose state a crash kept off the disk are
    // fetched again, so the chain this node serves always leads to the state it holds
    const dropped = await store.rollBackTo(restored?.chain.round ?? 0)
    if (dropped > 0) log.info({ dropped, round: restored?.chain.round ?? 0 }, 'commits past the last snapshot dropped (a crash came between them)')
  } catch (err) {
    await trainer.close()
    throw err
  }
  // the sampler's seed differs per node (peer id) but is stable across restarts, and a restarted
  // node does not replay the batches of rounds it already trained
  const sampler = new BatchSampler(train, rows, cfg.batch, new Rng(`${cfg.seed}/${self}/batches/${store.latest?.commit.round ?? -1}`))

  // documents saved were checked when they arrived; expiry only limits when an admission is first accepted
  const loaded = await loadRoster(paths, manifest, 0)
  for (const s of loaded.skipped) log.warn({ file: s.file }, `membership document skipped: ${s.reason}`)
  const members = new RunMembers({ manifest, roster: loaded.roster, paths, now: Date.now, log })
  if (!members.mayConnect(self)) log.warn({ peerId: self }, `this node is not (yet) a member of run "${manifest.body.name}": send its peer id to an admin (\`tapestry run admit ${self}\`)`)

  const metrics = new NodeMetrics()
  let host
  try {
    const datastore = new FsDatastore(paths.peerstore)
    await datastore.open()
    host = await createTapestryHost({
      runId: manifest.runId,
      runName: manifest.body.name,
      privateKey: key,
      listen: cfg.listen,
      bootstrap: cfg.bootstrap,
      mdns: cfg.mdns,
      nat: natOptions(cfg),
      datastore,
      log,
      allowPeer: peer => members.mayConnect(peer),
      gossipGate: members.gossipGate,
      metricsRegistry: metrics.registry
    })
  } catch (err) {
    await trainer.close()
    throw err
  }
  let bulk: BulkServer | null = null
  const bulkIp = bulkListenIp(cfg.listen)
  if (cfg.bulkTransfer && bulkIp != null) {
    try {
      bulk = await BulkServer.listen({ listenIp: bulkIp, port: cfg.bulkPort, log })
    } catch (err) {
      await host.stop()
      await trainer.close()
      throw err
    }
  }
  return { paths, cfg, members, log, token, host, bulk, trainer, blobs, store, model, sampler, test: test.kind === 'tokens' ? thinTokenEval(test, DAEMON_EVAL_WINDOWS) : test, samples: rows.length, restored, privacy, metrics }
}
