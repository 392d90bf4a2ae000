// The conformance suite over libp2p: real hosts on 127.0.0.1 (gossipsub, the blob and sync
// protocols, signed commits), each driving a RoundDriver through Libp2pRoundTransport; training is a
// seeded step so the test measures the protocol, not ONNX.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { conformance, type Faults, type Outcome } from '../round/conformance.js'
import { makeHost, waitFor, RUN } from './helpers.js'
import { blobCid, serveBlobs, serveSync, topicSubscribers, Libp2pRoundTransport, encodeState, MemoryBlobStore, type TapestryHost } from '../../src/net/index.js'
import { createRoundConfig, electionRank, modelBytes, RoundDriver, type ChainCommit, type ChainState, type DriverEvent } from '../../src/round/index.js'
import { createLayout, Rng } from '../../src/tensor/index.js'
import { createLogger } from '../../src/cli/log.js'

const cidOf = (b: Uint8Array): string => blobCid(b).toString()
const layout = createLayout([{ name: 'w', shape: [64] }])
const cfg = createRoundConfig({ runId: RUN, innerSteps: 1, codec: 'fp32', mode: 'gossip', deadlineMs: 3000, collectMs: 1500, backupStepMs: 1500 })
const log = createLogger('silent', 2)

interface Node { peer: string, host: TapestryHost, driver: RoundDriver, transport: Libp2pRoundTransport }

async function scenario (nodes: number, rounds: number, faults: Faults): Promise<Outcome> {
  const keys = await Promise.all(Array.from({ length: nodes + 1 }, async () => await generateKeyPair('Ed25519')))
  const ids = keys.map(k => peerIdFromPrivateKey(k).toString())
  const founders = ids.slice(0, nodes)
  const theta0 = new Float32Array(layout.total).map((_, i) => Math.sin(i))
  const genesis: ChainState = { round: 0, modelId: cidOf(modelBytes(theta0)), params: theta0, outer: { step: 0, velocity: null }, electorate: founders.map(peerId => ({ peerId, capacity: 1 })) }
  const aggregator0 = electionRank(cfg.runId, 0, genesis.modelId, genesis.electorate)[0]
  const o: Outcome = { peers: founders, applied: new Map(ids.map(p => [p, []])), events: new Map(ids.map(p => [p, []])) }
  if (faults.deadAggregator === true) o.dead = aggregator0
  if (faults.lyingAggregator === true) o.liar = aggregator0
  if (faults.dropCommitToLast === true) o.dropped = founders.filter(p => p !== aggregator0).at(-1)
  const running: Node[] = []

  const startNode = async (i: number): Promise<Node> => {
    const peer = ids[i]
    const host = await makeHost({ privateKey: keys[i] })
    const store = new MemoryBlobStore()
    const chain: ChainCommit[] = []
    let modelRef: { round: number, cid: string } | undefined
    const publishState = (state: ChainState): void => { modelRef = { round: state.round - 1, cid: store.put(encodeState(state, layout)).toString() } }
    await serveBlobs(host, { store, log })
    await serveSync(host, {
      getChain: (from, limit) => chain.filter(c => c.commit.round >= from && c.signed != null).slice(0, limit).map(c => c.signed!),
      getModel: () => modelRef
    })
    const transport = new Libp2pRoundTransport({
      host,
      runId: cfg.runId,
      layout,
      blobs: { put: bytes => store.put(bytes) },
      train: async (round, params) => {
        // local work takes time, as it does in a daemon: with instant training the founders ran rounds
        // faster than a joiner could sync, so it was always two rounds behind
        await new Promise(resolve => setTimeout(resolve, 150))
        const rng = new Rng(`${peer}/${round}`)
        return { params: params.map(v => v - 0.01 * rng.normal()), samples: 10 }
      },
      peersAhead: () => host.libp2p.getPeers().map(p => p.toString()),
      log,
      timeoutMs: 5_000
    })
    const driver = new RoundDriver({
      cfg, layout, deps: { self: peer, digest: cidOf }, restore: { chain: genesis, codec: {} },
      hooks: {
        applied: (commit, state) => {
          chain.push({ commit, signed: transport.signedCommit(commit) })
          publishState(state)
        },
        adopted: commits => { chain.push(...commits) }
      }
    }, transport)
    publishState(genesis)
    driver.on((e: DriverEvent) => {
      o.events.get(peer)!.push(e)
      if (e.type === 'applied') o.applied.get(peer)!.push({ round: e.commit.round, modelId: e.state.modelId, verified: e.verified, rank: e.commit.rank })
    })
    if (peer === o.liar) {
      const publish = transport.publish.bind(transport)
      const fake = cidOf(new Uint8Array([1, 2, 3]))
      transport.publish = async out => {
        if (!(out.type === 'commit' && out.msg.round === 0)) { await publish(out); return }
        await publish({ ...out, msg: { ...out.msg, newModelId: fake } })
        // the liar's part ends with its lie: alone on its own fork, with instant training, it would
        // otherwise commit solo rounds back to back and starve this process's event loop
        setImmediate(() => { void driver.stop() })
      }
    }
    // gossip loses round 0's commit on its way to the dropped peer
    transport.attach(peer !== o.dropped
      ? driver
      : { receive: m => { if (!(m.type === 'commit' && m.msg.round === 0)) driver.receive(m) }, get round () { return driver.round } })
    for (const n of running) await host.dial(n.host.multiaddrs()[0])
    const node = { peer, host, driver, transport }
    running.push(node)
    return node
  }

  try {
    for (let i = 0; i < nodes; i++) if (ids[i] !== o.dead) await startNode(i)
    // every host must see the others on the run's topics before the first announce
    await waitFor(() => running.every(n => topicSubscribers(n.host, 'announce').length >= running.length - 1 && topicSubscribers(n.host, 'commit').length >= running.length - 1), 15_000, 'gossip subscriptions')
    for (const n of running) n.driver.start()
    const live = (): Node[] => running.filter(n => n.peer !== o.liar)
    if (faults.lateJoiner === true) {
      await waitFor(() => live().every(n => n.driver.round > 1), 30_000, 'round 1 applied everywhere')
      const late = await startNode(nodes)
      o.late = late.peer
      await waitFor(() => topicSubscribers(late.host, 'commit').length >= 1, 15_000, 'late joiner subscribed')
      late.driver.start({ catchUp: true })
      // generous: on a loaded 2-core machine the joiner may sync twice (once at start, once when a commit shows it behind)
      await waitFor(() => o.applied.get(late.peer)!.length > 0, 60_000, 'the late joiner to apply a round').catch(err => {
        const seen = o.events.get(late.peer)!.filter(e => e.type !== 'fetched').map(e => e.type === 'syncFailed' ? `syncFailed(${e.reason})` : e.type)
        throw new Error(`${(err as Error).message}; its last events: ${seen.slice(-40).join(', ')}`)
      })
    }
    await waitFor(() => live().every(n => n.driver.round > rounds - 1), 45_000, `round ${rounds - 1} applied everywhere`)
    return o
  } finally {
    for (const n of running) { await n.driver.stop(); n.transport.close() }
    await Promise.all(running.map(async n => { await n.host.stop() }))
  }
}

conformance('libp2p', scenario, { timeout: 150_000 })
