// A member that withholds and reveals (run by forger.test.ts). It contributes zero updates every
// round; in a round where it is elected aggregator it commits nothing, lets a backup commit, and
// then reveals its own commit of that round: rank 0, the backup's very list of updates (with their
// authors' announce signatures), and an all-zero model, served over sync and blobs and gossiped
// every 2 s. Within a few rounds of a fork the first commits decide, and on rank this one wins.
import { readFile } from 'node:fs/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import {
  MemoryBlobStore, blobCid, catchUp, createTapestryHost, encodeCommit, encodeState, publishAnnounce, republish,
  requestChain, serveBlobs, serveSync, subscribeCommit
} from '../../src/net/index.js'
import { electionRank, modelBytes, type Commit } from '../../src/round/index.js'
import { commitMembers } from '../../src/round/validate.js'
import { encodeUpdate } from '../../src/compress/index.js'
import { decodeCheckpoint } from '../../src/train/checkpoint.js'
import { createLayout, type ParamLayout } from '../../src/tensor/index.js'

interface Args { addr: string, runId: string, keyFile: string, codec: string, seconds: number }
const args = JSON.parse(process.argv[2]) as Args
const key = privateKeyFromProtobuf(await readFile(args.keyFile))
const host = await createTapestryHost({ runId: args.runId, privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] })
const me = host.peerId
const store = new MemoryBlobStore()
await serveBlobs(host, { store })
let served: Array<{ round: number, bytes: Uint8Array }> = []
let model: { round: number, cid: string } | undefined
await serveSync(host, {
  getChain: (from, limit) => served.filter(c => c.round >= from).slice(0, limit).map(c => c.bytes),
  getModel: () => model
})
await host.dial(args.addr)
const peer = args.addr.split('/p2p/')[1]
const report = { announced: 0, withheld: -1, revealed: -1, backupRank: -1, gossiped: 0, error: '' }
let layout: ParamLayout | undefined
let shown = (): void => {}
let done = false

async function learnLayout (): Promise<ParamLayout> {
  const r = await catchUp(host, [peer], { fromRound: 0, maxModelBytes: 1 << 30, maxPages: 1 })
  const spec = decodeCheckpoint(r.modelBytes!).layout
  return createLayout(spec.split(',').map(e => { const [name, shape] = e.split(':'); return { name, shape: shape.split('x').map(Number) } }))
}

async function contribute (round: number, base: string): Promise<void> {
  layout ??= await learnLayout()
  const bytes = encodeUpdate(args.codec, new Float32Array(layout.total), layout, {}, { round, peer: new TextEncoder().encode(me) }).bytes
  const id = store.put(bytes).toString()
  await publishAnnounce(host, { runId: args.runId, round, peerId: me, updateId: id, baseModelId: base, samples: 1, codec: args.codec, size: bytes.length, capacity: 1 })
  report.announced++
}

/** The backup committed round f: reveal this member's own rank-0 commit of it, with the same updates and a zero model. */
async function reveal (backup: Commit): Promise<void> {
  layout ??= await learnLayout()
  const f = backup.round
  const poison = new Float32Array(layout.total)
  const forged: Commit = { ...backup, aggregator: me, rank: 0, newModelId: blobCid(modelBytes(poison)).toString() }
  const bytes = await encodeCommit(forged, key, me)
  const prefix = (await requestChain(host, peer, { fromRound: Math.max(0, f - 100), maxCommits: 1024 })).commits.filter(v => v.message.round < f)
  const state = { round: f + 1, modelId: forged.newModelId, params: poison, outer: { step: 0, velocity: null }, electorate: commitMembers(forged).members }
  model = { round: f, cid: store.put(encodeState(state, layout)).toString() }
  served = [...prefix.map(v => ({ round: v.message.round, bytes: v.bytes })), { round: f, bytes }]
  report.revealed = f
  shown()
  report.backupRank = backup.rank
  const timer = setInterval(() => { republish(host, 'commit', bytes).then(() => { report.gossiped++ }, () => {}) }, 2000)
  setTimeout(() => clearInterval(timer), args.seconds * 1000).unref()
}

subscribeCommit(host, (c: Commit) => {
  if (done || c.aggregator === me) return
  if (c.round === report.withheld) {
    done = true
    reveal(c).catch(err => { report.error = String(err) })
    return
  }
  // elected aggregator of the next round: withhold (commit nothing), but contribute as usual
  const electorate = commitMembers(c).members
  if (report.withheld < 0 && electorate.some(m => m.peerId === me) && electionRank(args.runId, c.round + 1, c.newModelId, electorate)[0] === me) report.withheld = c.round + 1
  contribute(c.round + 1, c.newModelId).catch(err => { report.error = String(err) })
})

// until `seconds` pass, or a while after the branch is out (the members check it within a few gossips)
await new Promise<void>(resolve => { setTimeout(resolve, args.seconds * 1000); shown = () => setTimeout(resolve, 16000) })
await host.stop()
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(0)
