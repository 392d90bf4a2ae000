// The Tapestry libp2p host: TCP with TLS 1.3 then Noise and yamux tuned for long fat links, and
// QUIC where its optional package is installed (nat.ts); circuit relay v2, DCUtR, AutoNAT and UPnP for
// members behind NATs; identify, ping, a run-private kad-dht, gossipsub limited to the run's
// topics, discovery, gating.
import { createHash } from 'node:crypto'
import { createLibp2p } from 'libp2p'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { CATALOG_NAMESPACE, catalogDhtRules } from './catalog.js'
import type { Registry } from 'prom-client'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { gossipsub } from '@libp2p/gossipsub'
import { createTopicScoreParams, type PeerScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { loadQuic, natServices, relayReservationsOf, QUIC_TUNING, type TapestryNatOptions } from './nat.js'
import { QUIC_V1 } from '@multiformats/multiaddr-matcher'
import { ReachabilityWatch, type ReachabilityReport } from './reachability.js'
import { mdns } from '@libp2p/mdns'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { NetError, NetErrorCode } from './errors.js'
import { asPubSub } from './pubsub.js'
import { tuneHeapForTransfers } from './heap-tuning.js'
import { keepBootstrapped, parseBootstrapList } from './bootstrap-keeper.js'
import { BlobStreamPool } from './blob-streams.js'
import type { PubSub } from './pubsub.js'
import type { Libp2p, PeerId, PrivateKey, ConnectionGater } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'

/** The yamux spec's initial stream window; every peer must use the same value (FACTS). */
export const YAMUX_SPEC_INITIAL_WINDOW = 256 * 1024

/** Loopback networks, exempt from libp2p's per-host inbound rate limit. */
const LOOPBACK_NETS = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128']

/** The connection monitor's heartbeat protocol, /tapestry/ping/1.0.0 (connections.md §5). */
const MONITOR_PING_PREFIX = 'tapestry'

const RUN_ID_RE = /^[A-Za-z0-9._-]{1,128}$/

// a type alias, not an interface: libp2p's ServiceMap constraint needs an index signature
export type TapestryServices = {
  identify: Identify
  ping: Ping
  /** answers the connection monitor's heartbeat (MONITOR_PING_PREFIX) */
  monitorPing: Ping
  dht: KadDHT
  pubsub: unknown
  autonat: unknown
  dcutr: unknown
  relay?: unknown
  upnp?: unknown
}

export interface TapestryYamuxOptions {
  /**
   * Largest per-stream receive window. A window must cover bandwidth × RTT for one stream to fill
   * a link: 64 MiB covers 1.6 GB/s at 40 ms, or 100 Mbit/s at 5 s.
   *
   * @default 67_108_864 (64 MiB)
   */
  maxStreamWindowSize?: number
  /**
   * Window a stream starts with. Peers with different values break each other's connections,
   * so only change it for a whole run at once.
   *
   * @default 262_144 (256 KiB, the yamux spec value)
   */
  initialStreamWindowSize?: number
  /**
   * Keep-alive ping period. Keep-alive must stay on: yamux grows a stream's window from the RTT
   * it measures with these pings.
   *
   * @default 10_000
   */
  keepAliveIntervalMs?: number
  /**
   * Largest yamux data frame sent; bigger frames mean fewer headers and callbacks per MiB.
   *
   * @default 262_144
   */
  maxMessageSize?: number
}

export interface TapestryHostOptions {
  /** The run this host belongs to (manifest hash): namespaces topics and the DHT protocol. */
  runId: string
  /**
   * The node's persistent identity key (from @libp2p/crypto keys). Pass the same key on every
   * start or the peer id changes.
   *
   * @default a fresh Ed25519 key (a new peer id each start)
   */
  privateKey?: PrivateKey
  /**
   * Multiaddrs to listen on.
   *
   * @default ['/ip4/127.0.0.1/tcp/0']
   */
  listen?: string[]
  /**
   * Multiaddrs to advertise instead of the listen addresses (NAT, port forwards).
   *
   * @default [] (advertise what we listen on)
   */
  announce?: string[]
  /**
   * Multiaddrs with /p2p/<peerId> to dial at start and keep connected: one that is down, or
   * drops, is redialled with a backoff of 1 s doubling to 30 s (bootstrap-keeper.ts).
   *
   * @default []
   */
  bootstrap?: string[]
  /**
   * Discover peers of this run on the LAN with mDNS and dial them (mDNS itself never dials).
   *
   * @default false
   */
  mdns?: boolean
  /**
   * Membership hook: return false to refuse a peer at dial and right after the encryption
   * handshake (inbound and outbound), before any protocol runs.
   *
   * @default every peer allowed
   */
  allowPeer?: (peerId: string) => boolean
  /**
   * A prom-client registry for libp2p's own metrics (connections, streams, bytes per protocol,
   * DHT, default process metrics), e.g. the daemon's /metrics endpoint.
   *
   * @default no metrics
   */
  metricsRegistry?: Registry
  /**
   * Membership gate for gossip: consulted for every message on the run's topics after its
   * envelope signature checked and before any topic validator or handler; 'reject' drops it and
   * scores down the peer that relayed it. Authors who are not members must be rejected here.
   *
   * @default every author accepted
   */
  gossipGate?: GossipGate
  /**
   * A human name of the run for refusal messages (the manifest's name).
   *
   * @default the run id
   */
  runName?: string
  /**
   * libp2p datastore for the peer store and DHT records (the daemon passes a persistent one).
   *
   * @default in-memory
   */
  datastore?: Libp2pOptions['datastore']
  /**
   * Connection encryption, in order of preference. TLS 1.3 goes first: about 1.5× Noise's
   * throughput in Node (FACTS); Noise stays for peers without TLS.
   *
   * @default ['tls', 'noise']
   */
  encryption?: Array<'tls' | 'noise'>
  /** Stream multiplexer tuning, see TapestryYamuxOptions. */
  yamux?: TapestryYamuxOptions
  /**
   * The connection monitor's heartbeat: each connection is pinged this often on
   * /tapestry/ping/1.0.0 and closed when a ping fails (connections.md §5).
   *
   * @default 10_000
   */
  heartbeatMs?: number
  /**
   * Which addresses the DHT keeps for peers. 'all' keeps private and loopback addresses (LANs,
   * tests, single-host runs); 'public' drops them (internet-wide runs).
   *
   * @default 'all'
   */
  dhtAddresses?: 'all' | 'public'
  /**
   * Gossipsub heartbeat period in ms; shorter heals meshes faster at the cost of chatter.
   *
   * @default 1000
   */
  gossipHeartbeatMs?: number
  /** Most connections kept open. @default 300 */
  maxConnections?: number
  /** Crossing NATs and firewalls: relays, hole punching, UPnP (see TapestryNatOptions). */
  nat?: TapestryNatOptions
  /** Logger for host-level events (dials on discovery, refusals). @default silent */
  log?: Logger
}

/** Topic names of one run: the only topics this host's gossipsub will touch. */
export interface RunTopics {
  presence: string
  announce: string
  commit: string
  /** hierarchical mode's group folds */
  subAggregate: string
  /** admissions and membership changes (self-signed JSON documents, net/membership.ts) */
  membership: string
}

/** What the membership gates refused: connections, gossip messages, protocol streams. */
export interface GateCounters {
  connections: number
  gossip: number
  streams: number
  /** gossip over a per-author or per-relayer budget (gossip.md §5): dropped, not forwarded */
  gossipRate: number
}

/** The verdict of a gossip gate on an author (see TapestryHostOptions.gossipGate). */
export type GossipGate = (kind: string, message: unknown, from: string) => 'accept' | 'ignore' | 'reject'

export interface TapestryHost {
  readonly libp2p: Libp2p<TapestryServices>
  readonly runId: string
  /** may this peer use the run's protocols? (the connection gater's rule; servers ask it again per stream) */
  readonly admits: (peerId: string) => boolean
  readonly gossipGate: GossipGate
  /** what the gates refused so far */
  readonly refused: GateCounters
  readonly topics: RunTopics
  /** this node's peer id (string form) */
  readonly peerId: string
  /** the identity key: signs gossip envelopes */
  readonly privateKey: PrivateKey
  readonly pubsub: PubSub
  readonly log?: Logger
  /** listen addresses with /p2p/<peerId> appended, ready to hand to another node */
  multiaddrs: () => string[]
  /** how this node is reached and how each connection runs (relayed, direct, direct after relay) */
  reachability: () => ReachabilityReport
  /** blob streams kept open between requests, per provider (blob-streams.ts) */
  readonly blobStreams: BlobStreamPool
  /** connect to a peer (multiaddr string, Multiaddr, or a PeerId the peer store can route) */
  dial: (target: string | Multiaddr | PeerId, options?: { signal?: AbortSignal }) => Promise<void>
  stop: () => Promise<void>
}

/** The run's topic names: /tapestry/<runId>/<kind>/1. */
export function runTopics (runId: string): RunTopics {
  return {
    presence: `/tapestry/${runId}/presence/1`,
    announce: `/tapestry/${runId}/announce/1`,
    commit: `/tapestry/${runId}/commit/1`,
    subAggregate: `/tapestry/${runId}/subaggregate/1`,
    membership: `/tapestry/${runId}/membership/1`
  }
}

/** The run's mDNS service tag: `_tapestry-<first 16 hex of sha256(runId)>._udp.local`. */
export function mdnsServiceTag (runId: string): string {
  return `_tapestry-${createHash('sha256').update(runId).digest('hex').slice(0, 16)}._udp.local`
}

/** The run-private DHT protocol: peers of other runs cannot join our routing tables. */
export function dhtProtocol (runId: string): string {
  return `/tapestry/${runId}/kad/1.0.0`
}

/** The identify user agent: names the run, so a peer of another run learns why it is dropped. */
export function runUserAgent (runId: string): string {
  return `tapestry/0.1.0 run/${runId}`
}

/** The run a peer's identify user agent names, if it is a Tapestry node. */
export function runOfUserAgent (agent: string | undefined): string | undefined {
  return /^tapestry\/\S+ run\/(\S+)$/.exec(agent ?? '')?.[1]
}

/**
 * Peer scoring on the run's topics: only invalid deliveries count (weight −5 per squared count,
 * decaying by 3 % a second), so a relayer of 2 rejected messages stops receiving gossip (score
 * −20 < −10), of 4 is graylisted (−80), and one that slipped (a roster not yet updated) recovers
 * within about a minute. Delivery-rate and time-in-mesh terms stay off: rounds are bursty and
 * quiet topics (sub-aggregates outside hierarchical mode) must not cost honest members.
 */
export function runScoreParams (topics: readonly string[]): Partial<PeerScoreParams> {
  const perTopic: Partial<TopicScoreParams> = {
    topicWeight: 1,
    timeInMeshWeight: 0,
    firstMessageDeliveriesWeight: 0,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -5,
    invalidMessageDeliveriesDecay: 0.97
  }
  return { topics: Object.fromEntries(topics.map(t => [t, createTopicScoreParams(perTopic)])) }
}

/** Create and start a host. Stop it with `host.stop()`. */
export async function createTapestryHost (options: TapestryHostOptions): Promise<TapestryHost> {
  if (typeof options.runId !== 'string' || !RUN_ID_RE.test(options.runId)) {
    throw new NetError(NetErrorCode.BAD_INPUT, `runId must match ${String(RUN_ID_RE)}`)
  }
  const runId = options.runId
  // this process will move blobs: keep V8 from a full GC per 64 MiB of TLS buffers
  tuneHeapForTransfers()
  const topics = runTopics(runId)
  const privateKey = options.privateKey ?? await generateKeyPair('Ed25519')
  const selfId = peerIdFromPrivateKey(privateKey).toString()
  const allowPeer = options.allowPeer ?? (() => true)
  const log = options.log
  const refused: GateCounters = { connections: 0, gossip: 0, streams: 0, gossipRate: 0 }
  const runName = options.runName ?? runId
  const ym = options.yamux ?? {}
  const encryption = options.encryption ?? ['tls', 'noise']
  if (encryption.length === 0) throw new NetError(NetErrorCode.BAD_INPUT, 'at least one connection encryption is required')

  // one decision point, consulted at dial time and again once the remote proved its key
  const deny = (peer: PeerId): boolean => {
    const id = peer.toString()
    if (id === selfId) return false
    const ok = allowPeer(id)
    if (!ok) {
      refused.connections++
      log?.debug({ peer: id }, `peer refused: not a member of run "${runName}" (${runId})`)
    }
    return !ok
  }
  const connectionGater: ConnectionGater = {
    denyDialPeer: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
    // loopback is how tests and single-host runs talk; the default gater refuses private dials only in browsers
    denyDialMultiaddr: () => false,
    // the relay serves the run's members only: who reserves, who is relayed, and to whom
    denyInboundRelayReservation: deny,
    denyOutboundRelayedConnection: (source, destination) => deny(source) || deny(destination),
    denyInboundRelayedConnection: (relay, remote) => deny(relay) || deny(remote)
  }

  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  // checked before anything starts: a bad address is a clear error, not a silent lonely node
  const bootstrapList = parseBootstrapList(options.bootstrap ?? [])
  if (bootstrapList.length > 0) peerDiscovery.push(bootstrap({ list: options.bootstrap ?? [] }))
  // a per-run service tag: nodes of other runs on the LAN neither answer nor get dialed
  // (DNS labels stop at 63 bytes, so the run id is hashed into the tag)
  if (options.mdns === true) peerDiscovery.push(mdns({ serviceTag: mdnsServiceTag(runId) }))

  const msgId = (msg: { data: Uint8Array }): Uint8Array => {
    // content addressing: the same signed envelope republished by anyone is one message
    const d = createHash('sha256').update(msg.data).digest()
    return new Uint8Array(d.buffer, d.byteOffset, 20)
  }

  const nat = options.nat ?? {}
  const reservations = relayReservationsOf(nat)
  const listen = options.listen ?? ['/ip4/127.0.0.1/tcp/0']
  const quic = await loadQuic()
  const quicListen = listen.filter(a => QUIC_V1.matches(multiaddr(a)))
  if (quic.factory == null && quicListen.length > 0) {
    throw new NetError(NetErrorCode.LISTEN_FAILED, `cannot listen on ${quicListen.join(', ')}: QUIC is not available here (${quic.why ?? 'unknown'}); listen on /tcp instead`)
  }

  const catalogRules = catalogDhtRules(runId)
  const libp2p = await createLibp2p<TapestryServices>({
    privateKey,
    ...(options.metricsRegistry != null ? { metrics: prometheusMetrics({ registry: options.metricsRegistry }) } : {}),
    datastore: options.datastore,
    addresses: {
      // each /p2p-circuit entry is one reservation on a relay member (found among connected peers)
      listen: [...listen, ...Array<string>(reservations).fill('/p2p-circuit')],
      announce: options.announce ?? []
    },
    transports: [
      tcp(),
      ...(quic.factory != null ? [quic.factory(QUIC_TUNING)] : []),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 })
    ],
    connectionEncrypters: encryption.map(e => e === 'tls' ? tls() : noise()),
    streamMuxers: [yamux({
      enableKeepAlive: true,
      keepAliveInterval: ym.keepAliveIntervalMs ?? 10_000,
      maxMessageSize: ym.maxMessageSize ?? 256 * 1024,
      streamOptions: {
        initialStreamWindowSize: ym.initialStreamWindowSize ?? YAMUX_SPEC_INITIAL_WINDOW,
        maxStreamWindowSize: ym.maxStreamWindowSize ?? 64 * 1024 * 1024
      }
    })],
    connectionGater,
    // the heartbeat pings on a protocol of its own: the ping spec allows one outbound /ipfs/ping
    // stream per peer, the DHT pings its contacts on that one, and a heartbeat that met the DHT's
    // ping failed and closed the connection (a relay's: every reservation on it went too)
    connectionMonitor: { protocolPrefix: MONITOR_PING_PREFIX, pingInterval: options.heartbeatMs ?? 10_000 },
    connectionManager: {
      maxConnections: options.maxConnections ?? 300,
      // libp2p refuses a host's 6th inbound connection within a second: on one machine (the demo,
      // the tests, the benches) every peer is 127.0.0.1, so a cluster starting up or fetching
      // from a new provider at once lost dials to it. Local processes are exempt; remote hosts
      // keep the limit.
      allow: LOOPBACK_NETS
    },
    peerDiscovery,
    nodeInfo: { name: 'tapestry', version: '0.1.0', userAgent: runUserAgent(runId) },
    services: {
      identify: identify(),
      ping: ping(),
      monitorPing: ping({ protocolPrefix: MONITOR_PING_PREFIX }),
      ...natServices(nat, runName),
      dht: kadDHT({
        protocol: dhtProtocol(runId),
        // the run's data catalog (catalog.ts): signed records every DHT node checks before keeping one
        validators: { [CATALOG_NAMESPACE]: catalogRules.validate },
        selectors: { [CATALOG_NAMESPACE]: catalogRules.select },
        // without this a node with only private addresses stays a DHT client forever
        clientMode: false,
        peerInfoMapper: (options.dhtAddresses ?? 'all') === 'all' ? passthroughMapper : removePrivateAddressesMapper
      }),
      pubsub: gossipsub({
        // authorship lives in our own signed envelope (it must survive forwarding and sync);
        // a second gossipsub signature would only cost CPU
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: msgId,
        allowedTopics: [topics.presence, topics.announce, topics.commit, topics.subAggregate, topics.membership],
        allowPublishToZeroTopicPeers: true,
        // a commit is at most 1 MiB; refuse bigger gossip before decoding it
        maxInboundDataLength: 2 * 1024 * 1024,
        // a rejected message (bad signature, non-member author, …) costs its relayer: without
        // per-topic parameters gossipsub keeps no invalid-delivery count at all
        scoreParams: runScoreParams(Object.values(topics)),
        heartbeatInterval: options.gossipHeartbeatMs ?? 1000,
        // members behind NATs start on relayed connections, which carry limits
        runOnLimitedConnection: true,
        emitSelf: false
      })
    }
  }).catch(err => { throw listenError(err, options.listen) })

  if (options.mdns === true) {
    libp2p.addEventListener('peer:discovery', evt => {
      const peer = evt.detail.id
      if (deny(peer) || libp2p.getConnections(peer).length > 0) return
      libp2p.dial(peer).catch(err => log?.debug({ peer: peer.toString(), err: String(err) }, 'dial on discovery failed'))
    })
  }

  // a member key used in two runs passes the gater of both: identify tells which run the peer is on
  libp2p.addEventListener('peer:identify', evt => {
    const theirs = runOfUserAgent(evt.detail.agentVersion)
    if (theirs === undefined || theirs === runId) return
    refused.connections++
    log?.warn({ peer: evt.detail.peerId.toString(), theirRun: theirs }, `peer is on run ${theirs}, not on run "${runName}" (${runId}): disconnected`)
    void libp2p.hangUp(evt.detail.peerId).catch(() => {})
  })

  const stopKeeper = bootstrapList.length > 0 ? keepBootstrapped(libp2p, bootstrapList, { log }) : () => {}

  const pubsub = asPubSub(libp2p.services.pubsub)
  const watch = new ReachabilityWatch(libp2p, { upnp: nat.upnp === true })
  const blobStreams = new BlobStreamPool()

  return {
    libp2p,
    runId,
    admits: (peer: string) => peer === selfId || allowPeer(peer),
    gossipGate: options.gossipGate ?? (() => 'accept'),
    refused,
    topics,
    peerId: selfId,
    privateKey,
    pubsub,
    log,
    multiaddrs: () => libp2p.getMultiaddrs().map(ma => ma.toString()),
    reachability: () => watch.report(),
    blobStreams,
    dial: async (target, opts) => {
      const t = typeof target === 'string' ? multiaddr(target) : target
      await libp2p.dial(t, { signal: opts?.signal })
    },
    stop: async () => {
      stopKeeper()
      blobStreams.clear()
      await libp2p.stop()
    }
  }
}

/**
 * libp2p reports an address it cannot listen on (a port in use) as an untyped multi-line error
 * ending in stack traces: give the daemon one line with a code, naming the address and the cause.
 */
function listenError (err: unknown, listen: string[] | undefined): unknown {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return err
  const causes = err.message.split('\n').map(l => l.trim()).filter(l => /^\/.+: \w*Error: /.test(l)).map(l => l.replace(/: \w*Error: /, ': '))
  const detail = causes.length > 0 ? causes.join('; ') : (listen ?? []).join(', ')
  return new NetError(NetErrorCode.LISTEN_FAILED, `cannot listen on ${detail}`, {}, { cause: err })
}
