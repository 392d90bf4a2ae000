// A member turned forger (run by forger.test.ts). It contributes zero updates until a commit includes
// it (so it is in the electorate), then forges a branch from the next round: `forged` commits it
// signs as the candidate of its own rank, each listing every member (the others with made-up
// update ids and the signatures copied from their last real announces), and a state whose model is
// all zeros. It serves that branch over sync and blobs, and gossips one of its commits (of a round
// the others passed with another commit) every 2 s, so every member checks the fork. It prints JSON.
import { readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import {
  MemoryBlobStore, blobCid, catchUp, createTapestryHost, encodeCommit, encodeState, publishAnnounce, republish,
  requestChain, serveBlobs, serveSync, signProof, subscribeCommit
} from '../../src/net/index.js'
import { electionRank, modelBytes, type Commit, type IncludedUpdate } from '../../src/round/index.js'
import { commitMembers } from '../../src/round/validate.js'
import { encodeUpdate } from '../../src/compress/index.js'
import { decodeCheckpoint } from '../../src/train/checkpoint.js'
import { createLayout, type ParamLayout } from '../../src/tensor/index.js'

interface Args { addr: string, runId: string, keyFile: string, codec: string, seconds: number, forged: number }
const args = JSON.parse(process.argv[2]) as Args
const key = privateKeyFromProtobuf(await readFile(args.keyFile))
const host = await createTapestryHost({ runId: args.runId, privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'] })
const me = host.peerId
const store = new MemoryBlobStore()
await serveBlobs(host, { store })
let served: Uint8Array[] = []
let servedRounds: number[] = []
let model: { round: number, cid: string } | undefined
await serveSync(host, {
  getChain: (from, limit) => served.filter((_, i) => servedRounds[i] >= from).slice(0, limit),
  getModel: () => model
})
await host.dial(args.addr)
const peer = args.addr.split('/p2p/')[1]
const report = { announced: 0, includedAt: -1, forkRound: -1, forged: 0, gossiped: 0, error: '' }

const randomCid = (): string => blobCid(randomBytes(32)).toString()
let layout: ParamLayout | undefined
let shown = (): void => {}
let forging = false

/** The run's parameter layout, from the state a member serves (the checkpoint names it). */
async function learnLayout (): Promise<ParamLayout> {
  const r = await catchUp(host, [peer], { fromRound: 0, maxModelBytes: 1 << 30, maxPages: 1 })
  const spec = decodeCheckpoint(r.modelBytes!).layout
  return createLayout(spec.split(',').map(e => { const [name, shape] = e.split(':'); return { name, shape: shape.split('x').map(Number) } }))
}

/** A zero update of `round` on `base`, served and announced with the roster's weights (1 and 1: none declared). */
async function contribute (round: number, base: string): Promise<void> {
  layout ??= await learnLayout()
  const bytes = encodeUpdate(args.codec, new Float32Array(layout.total), layout, {}, { round, peer: new TextEncoder().encode(me) }).bytes
  const id = store.put(bytes).toString()
  await publishAnnounce(host, { runId: args.runId, round, peerId: me, updateId: id, baseModelId: base, samples: 1, codec: args.codec, size: bytes.length, capacity: 1 })
  report.announced++
}

/** The forged branch from the round after `c` (a commit that includes this member), its state, and the real chain before it. */
async function forge (c: Commit): Promise<void> {
  layout ??= await learnLayout()
  const f = c.round + 1
  const electorate = commitMembers(c).members
  const real = new Map(c.included.map(u => [u.peerId, u]))
  const prefix = (await requestChain(host, peer, { fromRound: Math.max(0, f - 100), maxCommits: 1024 })).commits.filter(v => v.message.round < f)
  const poison = new Float32Array(layout.total)
  const forgedBytes: Uint8Array[] = []
  let prev = c.newModelId
  let last: Commit | undefined
  for (let i = 0; i < args.forged; i++) {
    const round = f + i
    const rank = electionRank(args.runId, round, prev, electorate).indexOf(me)
    const included: IncludedUpdate[] = []
    for (const m of electorate) {
      const u: IncludedUpdate = { updateId: randomCid(), peerId: m.peerId, samples: real.get(m.peerId)?.samples ?? 1, capacity: m.capacity, size: 1000 }
      if (m.peerId === me) u.announced = await signProof(key, { runId: args.runId, round, peerId: me, updateId: u.updateId, baseModelId: prev, samples: u.samples, codec: args.codec, size: 1000, capacity: u.capacity })
      else if (real.get(m.peerId)?.announced != null) u.announced = real.get(m.peerId)!.announced
      included.push(u)
    }
    included.sort((a, b) => a.updateId < b.updateId ? -1 : 1)
    const newModelId = i === args.forged - 1 ? blobCid(modelBytes(poison)).toString() : randomCid()
    last = { runId: args.runId, round, aggregator: me, rank, prevModelId: prev, included, newModelId, aggregateId: '' }
    forgedBytes.push(await encodeCommit(last, key, me))
    prev = newModelId
  }
  const state = { round: f + args.forged, modelId: prev, params: poison, outer: { step: 0, velocity: null }, electorate: commitMembers(last!).members }
  model = { round: f + args.forged - 1, cid: store.put(encodeState(state, layout)).toString() }
  served = [...prefix.map(v => v.bytes), ...forgedBytes]
  servedRounds = [...prefix.map(v => v.message.round), ...Array.from({ length: args.forged }, (_, i) => f + i)]
  report.forkRound = f
  report.forged = forgedBytes.length
  shown()
  // the others pass these rounds with their own commits; each forged one shows them the fork (a
  // different one each time: gossipsub drops a message it has seen, however often it is sent)
  let next = 0
  const timer = setInterval(() => { republish(host, 'commit', forgedBytes[next++ % forgedBytes.length]).then(() => { report.gossiped++ }, () => {}) }, 2000)
  setTimeout(() => clearInterval(timer), args.seconds * 1000).unref()
}

subscribeCommit(host, (c: Commit) => {
  if (forging || c.aggregator === me) return
  if (c.included.some(u => u.peerId === me)) {
    forging = true
    report.includedAt = c.round
    forge(c).catch(err => { report.error = String(err) })
    return
  }
  contribute(c.round + 1, c.newModelId).catch(err => { report.error = String(err) })
})

// until `seconds` pass, or a while after the branch is out (the members check it within a few gossips)
await new Promise<void>(resolve => { setTimeout(resolve, args.seconds * 1000); shown = () => setTimeout(resolve, 24000) })
await host.stop()
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(0)
