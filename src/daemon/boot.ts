// A node's components opened from its data directory, in the order that lets every fatal error
// (bad config, corrupt store, unavailable device) surface before libp2p starts listening.
import type { Logger } from 'pino'
import { FsDatastore } from 'datastore-fs'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createTapestryHost } from '../net/index.js'
import { BatchSampler, parsePartition, shard, type Dataset } from '../data/index.js'
import { Trainer, DEFAULT_INNER_OPTIMIZER, loadData, modelSpec, fusedCount } from '../train/index.js'
import { Rng } from '../tensor/index.js'
import type { ModelSpec } from '../graph/index.js'
import type { EngineSnapshot } from '../round/index.js'
import { loadNodeConfig } from './config.js'
import { dataDirPaths, loadIdentity, readToken } from './datadir.js'
import { DiskBlobStore } from './disk-blob-store.js'
import { ChainStore } from './chain-store.js'
import type { NodeComponents } from './node.js'
import { PrivacyLedger } from './privacy-ledger.js'
import { createPrivacySettings } from '../privacy/index.js'

export async function openComponents (dataDir: string, log: Logger): Promise<NodeComponents> {
  const paths = dataDirPaths(dataDir)
  const cfg = await loadNodeConfig(paths.config)
  const key = await loadIdentity(paths)
  const self = peerIdFromPrivateKey(key).toString()
  const token = await readToken(paths)
  const blobs = new DiskBlobStore(paths.blobs, { onWriteError: (cid, err) => { log.warn({ cid, err: String(err) }, 'blob file not written (still served from memory)') } })
  await blobs.open()
  const store = new ChainStore(paths.chain, paths.state)
  await store.open()

  const { train, test } = loadData(cfg.data)
  const model: ModelSpec = modelSpec(cfg.model, train)
  const rows = shard(train, cfg.shards, parsePartition(cfg.partition), cfg.seed)[cfg.shard]
  const trainer = await Trainer.create({ model, optimizer: DEFAULT_INNER_OPTIMIZER, fusedSteps: fusedCount(cfg.innerSteps), device: cfg.device, threads: cfg.threads, seed: cfg.seed })
  let restored: EngineSnapshot | null
  try {
    restored = (await store.loadSnapshot(trainer.layout)) ?? null
  } catch (err) {
    await trainer.close()
    throw err
  }
  // the sampler's seed differs per node (peer id) but is stable across restarts, and a restarted
  // node does not replay the batches of rounds it already trained
  const sampler = new BatchSampler(train, rows, cfg.batch, new Rng(`${cfg.seed}/${self}/batches/${store.latest?.commit.round ?? -1}`))

  let host
  try {
    const datastore = new FsDatastore(paths.peerstore)
    await datastore.open()
    host = await createTapestryHost({ runId: cfg.runId, privateKey: key, listen: cfg.listen, bootstrap: cfg.bootstrap, mdns: cfg.mdns, datastore, log })
  } catch (err) {
    await trainer.close()
    throw err
  }
  const privacy = cfg.dpClipNorm > 0 ? await PrivacyLedger.open(paths.state, createPrivacySettings({ clipNorm: cfg.dpClipNorm, noiseMultiplier: cfg.dpNoiseMultiplier, delta: cfg.dpDelta })) : null
  return { paths, cfg, log, token, host, trainer, blobs, store, model, sampler, test: test as Dataset, samples: rows.length, restored, privacy }
}
