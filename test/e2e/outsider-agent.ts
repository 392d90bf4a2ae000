// A non-member process attacking a run it knows one member's address of (run by outsider.test.ts,
// never by the test runner itself). Part 1, with a fresh key: N attempts each to connect, publish
// every message kind, fetch a blob, request the chain, and query the DHT. Part 2, through a
// connection a member key opened: N gossip messages of each kind authored by the outsider's key,
// and N self-signed admissions. Prints one JSON line: what got through.
import { readFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  createTapestryHost, fetchBlob, requestChain, publishPresence, publishAnnounce, publishCommit, publishSubAggregate, type TapestryHost
} from '../../src/net/index.js'
import { encodeSigned } from '../../src/net/gossip-codec.js'
import { admit, verifyManifest } from '../../src/manifest/index.js'
import type { SignedKind } from '../../src/net/signed.js'
import type { Announce, Commit, Presence, SubAggregate } from '../../src/round/messages.js'

interface Args { addr: string, runId: string, blobCid: string, memberKeyFile: string, manifestFile: string, attempts: number }
const args = JSON.parse(process.argv[2]) as Args
const N = args.attempts
const memberId = peerIdFromString(args.addr.split('/p2p/')[1])
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

function messages (runId: string, author: string, i: number): { presence: Presence, announce: Announce, commit: Commit, subAggregate: SubAggregate } {
  const update = { updateId: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', peerId: author, samples: 2 ** 40, capacity: 1e6 }
  return {
    presence: { runId, peerId: author, round: i, modelId: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', capacity: 1e6, seq: i },
    announce: { runId, round: i, peerId: author, updateId: update.updateId, baseModelId: update.updateId, samples: 2 ** 40, codec: 'topk:0.01+q4', size: 100, capacity: 1e6, attempt: 0 },
    commit: { runId, round: i, aggregator: author, rank: 0, prevModelId: update.updateId, included: [update], newModelId: update.updateId, aggregateId: '' },
    subAggregate: { runId, round: i, group: 0, aggregator: author, rank: 0, baseModelId: update.updateId, subAggregateId: update.updateId, included: [update], size: 100 }
  }
}

async function outsiderAlone (): Promise<Record<string, number>> {
  const host = await createTapestryHost({ runId: args.runId, listen: ['/ip4/127.0.0.1/tcp/0'] })
  const r = { dialsAccepted: 0, published: 0, blobBytes: 0, syncCommits: 0, syncModels: 0, dhtResponses: 0, errors: 0 }
  const ms: Record<string, number> = {}
  let t0 = Date.now()
  const phase = (name: string): void => { ms[name] = Date.now() - t0; t0 = Date.now() }
  try {
    for (let i = 0; i < N; i++) {
      try {
        await host.dial(args.addr, { signal: AbortSignal.timeout(3_000) })
        // a connection the member kept answers a ping over it
        await host.libp2p.services.ping.ping(memberId, { signal: AbortSignal.timeout(1_000) })
        r.dialsAccepted++
      } catch { r.errors++ }
      await host.libp2p.hangUp(memberId).catch(() => {})
    }
    phase('dial')
    await host.libp2p.peerStore.merge(memberId, { multiaddrs: [multiaddr(args.addr.split('/p2p/')[0])] })
    for (let i = 0; i < N; i++) {
      const m = messages(args.runId, host.peerId, i)
      r.published += (await publishPresence(host, m.presence)).recipients
      r.published += (await publishAnnounce(host, m.announce)).recipients
      r.published += (await publishCommit(host, m.commit)).recipients
      r.published += (await publishSubAggregate(host, m.subAggregate)).recipients
    }
    phase('publish')
    for (let i = 0; i < N; i++) {
      try {
        r.blobBytes += (await fetchBlob(host, args.blobCid, [memberId], { maxBytes: 1 << 28, timeoutMs: 2_000, parallel: 1 })).byteLength
      } catch { r.errors++ }
    }
    phase('blob')
    for (let i = 0; i < N; i++) {
      try {
        const page = await requestChain(host, memberId, { fromRound: 0, timeoutMs: 2_000 })
        r.syncCommits += page.commits.length
        if (page.model != null) r.syncModels++
      } catch { r.errors++ }
    }
    phase('sync')
    // a DHT query to a peer that refuses us ends only at its timeout: ten at a time
    const query = async (): Promise<void> => {
      try {
        for await (const ev of host.libp2p.services.dht.getClosestPeers(memberId.toMultihash().bytes, { signal: AbortSignal.timeout(500) })) {
          if (ev.name === 'PEER_RESPONSE' && ev.from.equals(memberId)) r.dhtResponses++
        }
      } catch { r.errors++ }
    }
    for (let i = 0; i < N; i += 10) await Promise.all(Array.from({ length: Math.min(10, N - i) }, query))
    phase('dht')
    process.stderr.write(JSON.stringify({ phaseMs: ms }) + '\n')
  } finally {
    await host.stop()
  }
  return r
}

/** A member's connection relays messages the outsider signed: the membership gate must reject them all. */
async function relayedThroughMember (): Promise<Record<string, number>> {
  const memberKey = privateKeyFromProtobuf(await readFile(args.memberKeyFile))
  const outsiderKey = await generateKeyPair('Ed25519')
  const outsider = peerIdFromPrivateKey(outsiderKey).toString()
  const host: TapestryHost = await createTapestryHost({ runId: args.runId, privateKey: memberKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  const r = { sent: 0, connected: 0, membershipSent: 0 }
  try {
    await host.dial(args.addr, { signal: AbortSignal.timeout(5_000) })
    r.connected = 1
    for (const t of Object.values(host.topics)) host.pubsub.subscribe(t)
    await sleep(2_000) // let the member see our subscriptions
    for (let i = 0; i < N; i++) {
      const m = messages(args.runId, outsider, 1000 + i)
      for (const kind of ['presence', 'announce', 'commit', 'subAggregate'] as SignedKind[]) {
        const bytes = await encodeSigned(kind, m[kind] as never, outsiderKey, outsider)
        const res = await host.pubsub.publish(host.topics[kind], bytes, { allowPublishToZeroTopicPeers: true, ignoreDuplicatePublishError: true })
        r.sent += res.recipients.length
      }
    }
    // self-signed admissions: the outsider is no admin
    const manifest = await verifyManifest(await readFile(args.manifestFile, 'utf8'))
    const fake = { ...manifest, body: { ...manifest.body, admins: [outsider] } }
    for (let i = 0; i < N; i++) {
      const doc = await admit(fake, outsider, outsiderKey, { validFromRound: i })
      const res = await host.pubsub.publish(host.topics.membership, new TextEncoder().encode(JSON.stringify(doc)), { allowPublishToZeroTopicPeers: true, ignoreDuplicatePublishError: true })
      r.membershipSent += res.recipients.length
    }
    await sleep(1_000)
  } finally {
    await host.stop()
  }
  return { ...r, outsider: outsider as unknown as number }
}

const alone = await outsiderAlone()
const relayed = await relayedThroughMember()
process.stdout.write(JSON.stringify({ alone, relayed }) + '\n')
process.exit(0)
