// What the rogue members of forger.test.ts share: a libp2p host with an admitted member's key,
// serving the blobs and the chain it chooses, able to contribute zero updates (so a commit includes
// it and it joins the electorate), and the real chain before a round.
import { readFile } from 'node:fs/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { MemoryBlobStore, catchUp, createTapestryHost, publishAnnounce, requestChain, serveBlobs, serveSync, type TapestryHost } from '../../src/net/index.js'
import { encodeUpdate } from '../../src/compress/index.js'
import { decodeCheckpoint } from '../../src/train/checkpoint.js'
import { createLayout, type ParamLayout } from '../../src/tensor/index.js'
import type { PrivateKey } from '@libp2p/interface'

export interface RogueArgs { addr: string, runId: string, keyFile: string, codec: string, seconds: number }

export interface Rogue {
  host: TapestryHost
  key: PrivateKey
  me: string
  store: MemoryBlobStore
  /** the run's parameter layout, from the state a member serves (its checkpoint names it) */
  layout: () => Promise<ParamLayout>
  /** serve `chain` (signed commits, ascending) and the state blob `model` names over sync */
  serve: (chain: Array<{ round: number, bytes: Uint8Array }>, model: { round: number, cid: string }) => void
  /** the real signed commits before round `f` (the last 100) */
  realBefore: (f: number) => Promise<Array<{ round: number, bytes: Uint8Array }>>
  /** a zero update of `round` on `base`, served and announced with the roster's weights (1 and 1: none declared) */
  contribute: (round: number, base: string) => Promise<void>
  /** resolves after `seconds`, or `afterMs` once `done()` is called; then the host stops */
  finish: (afterMs: number) => { done: () => void, stopped: Promise<void> }
}

export async function rogueMember (args: RogueArgs): Promise<Rogue> {
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
  let layout: ParamLayout | undefined
  const learn = async (): Promise<ParamLayout> => {
    if (layout != null) return layout
    const r = await catchUp(host, [peer], { fromRound: 0, maxModelBytes: 1 << 30, maxPages: 1 })
    const spec = decodeCheckpoint(r.modelBytes!).layout
    layout = createLayout(spec.split(',').map(e => { const [name, shape] = e.split(':'); return { name, shape: shape.split('x').map(Number) } }))
    return layout
  }
  return {
    host,
    key,
    me,
    store,
    layout: learn,
    serve: (chain, m) => { served = chain; model = m },
    realBefore: async f => (await requestChain(host, peer, { fromRound: Math.max(0, f - 100), maxCommits: 1024 })).commits
      .filter(v => v.message.round < f).map(v => ({ round: v.message.round, bytes: v.bytes })),
    contribute: async (round, base) => {
      const l = await learn()
      const bytes = encodeUpdate(args.codec, new Float32Array(l.total), l, {}, { round, peer: new TextEncoder().encode(me) }).bytes
      const id = store.put(bytes).toString()
      await publishAnnounce(host, { runId: args.runId, round, peerId: me, updateId: id, baseModelId: base, samples: 1, codec: args.codec, size: bytes.length, capacity: 1 })
    },
    finish: afterMs => {
      let done = (): void => {}
      const stopped = new Promise<void>(resolve => {
        setTimeout(resolve, args.seconds * 1000)
        done = () => { setTimeout(resolve, afterMs) }
      }).then(async () => { await host.stop() })
      return { done: () => { done() }, stopped }
    }
  }
}
