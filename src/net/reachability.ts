// How this node can be reached, and how each connection to a member runs: the answer to "why can
// my partner not see me" that `tapestry status` prints. libp2p's own parts do the work (AutoNAT
// verifies our public addresses, circuit relay v2 holds reservations on reachable members, DCUtR
// punches holes, UPnP maps ports); this file watches them and says what happened.
import { isPrivate, isLoopback, getNetConfig } from '@libp2p/utils'
import { Circuit, QUIC_V1 } from '@multiformats/multiaddr-matcher'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, Connection, PeerId } from '@libp2p/interface'
import type { AddressManager, TransportManager } from '@libp2p/interface-internal'

/**
 * - `public`: an address of ours that outsiders can dial was verified (AutoNAT dial-back, a UPnP
 *   mapping the gateway confirmed, or an announce address the operator set);
 * - `relayed`: no such address, but a reservation on a relay member: others reach us through it,
 *   and DCUtR upgrades those connections where the NAT allows;
 * - `private`: only LAN or loopback addresses (fine inside one site, unreachable from outside);
 * - `unreachable`: listening on nothing dialable at all.
 */
export type Reachability = 'public' | 'relayed' | 'private' | 'unreachable'

/** How one connection runs: straight, through a relay, or straight after a hole punch (DCUtR). */
export type ConnectionPath = 'direct' | 'relayed' | 'hole-punched'

export type AddressKind = 'relay' | 'public' | 'private' | 'loopback'

export function addressKind (ma: Multiaddr): AddressKind {
  if (Circuit.matches(ma)) return 'relay'
  try {
    if (isLoopback(ma)) return 'loopback'
    if (isPrivate(ma)) return 'private'
  } catch {}
  return 'public'
}

export interface ReachabilityReport {
  reachability: Reachability
  /** addresses we advertise, by kind (a relay address is `<relay>/p2p-circuit/p2p/<us>`) */
  addresses: Record<AddressKind, string[]>
  /** public QUIC addresses taken as ours because a port-preserving NAT kept our port (unverified by dial-back) */
  predicted: string[]
  /** open connections to peers, by how they run */
  connections: Record<ConnectionPath, number>
  /** per connected peer: how its connections run (the best one counts) */
  peers: Record<string, ConnectionPath>
  /** direct connections opened to a peer we were so far reaching only through a relay */
  holePunches: number
  /** relays this node holds a reservation on */
  relays: string[]
  /** members holding a reservation on this node's relay service (undefined when it does not serve) */
  relayingFor?: number
  upnp: boolean
}

interface RelayServerLike { reservations?: { size: number } }

/**
 * Watches connections from the host's start: a peer first reached over a relay that later gets a
 * direct connection counts as hole-punched (DCUtR is what opens those; a unilateral direct dial
 * after a relay counts too, and is as good).
 */
export class ReachabilityWatch {
  private readonly everRelayed = new Set<string>()
  private readonly punched = new Set<string>()
  holePunches = 0

  constructor (private readonly libp2p: Libp2p, private readonly opts: { upnp: boolean, predicted: () => string[] }) {
    libp2p.addEventListener('connection:open', evt => this.onOpen(evt.detail))
  }

  private onOpen (c: Connection): void {
    const peer = c.remotePeer.toString()
    if (Circuit.matches(c.remoteAddr)) { this.everRelayed.add(peer); return }
    if (this.everRelayed.has(peer) && !this.punched.has(peer)) {
      this.punched.add(peer)
      this.holePunches++
    }
  }

  private pathOf (c: Connection): ConnectionPath {
    if (Circuit.matches(c.remoteAddr)) return 'relayed'
    return this.punched.has(c.remotePeer.toString()) ? 'hole-punched' : 'direct'
  }

  report (): ReachabilityReport {
    const addresses: Record<AddressKind, string[]> = { relay: [], public: [], private: [], loopback: [] }
    for (const ma of this.libp2p.getMultiaddrs()) addresses[addressKind(ma)].push(ma.toString())
    const relays = [...new Set(addresses.relay.map(a => relayOf(multiaddr(a))).filter((r): r is string => r != null))]
    const connections: Record<ConnectionPath, number> = { direct: 0, relayed: 0, 'hole-punched': 0 }
    const peers: Record<string, ConnectionPath> = {}
    const rank: Record<ConnectionPath, number> = { relayed: 0, direct: 1, 'hole-punched': 2 }
    for (const c of this.libp2p.getConnections()) {
      if (c.status !== 'open') continue
      const p = this.pathOf(c)
      connections[p]++
      const id = c.remotePeer.toString()
      if (peers[id] == null || rank[p] > rank[peers[id]]) peers[id] = p
    }
    const predicted = this.opts.predicted()
    const reachability: Reachability = addresses.public.some(a => !predicted.includes(a.replace(/\/p2p\/[^/]+$/, '')))
      ? 'public'
      : addresses.relay.length > 0 ? 'relayed' : (addresses.private.length + addresses.loopback.length > 0 ? 'private' : 'unreachable')
    const server = (this.libp2p.services as Record<string, unknown>).relay as RelayServerLike | undefined
    return {
      reachability,
      addresses,
      predicted,
      connections,
      peers,
      holePunches: this.holePunches,
      relays,
      relayingFor: server?.reservations?.size,
      upnp: this.opts.upnp
    }
  }
}

/** The relay's peer id in `<relay addr>/p2p/<relay>/p2p-circuit/p2p/<us>`. */
function relayOf (ma: Multiaddr): string | undefined {
  const comps = ma.getComponents()
  const circuit = comps.findIndex(c => c.name === 'p2p-circuit')
  for (let i = circuit - 1; i >= 0; i--) if (comps[i].name === 'p2p') return comps[i].value
  return undefined
}

interface PredictionComponents { addressManager: AddressManager, transportManager: TransportManager, peerId: PeerId }

/**
 * Port prediction for NATs that keep a UDP socket's port (Linux masquerade, most home routers):
 * a member behind such a NAT is told by its peers (identify) that they see it at
 * `<router>/udp/<our QUIC listen port>/quic-v1`. AutoNAT cannot verify that address (a restricted
 * NAT drops its dial-back), and js-libp2p's DCUtR only offers verified addresses, so two such
 * members would stay on the relay. This service takes such an observed address as ours when its
 * port is one we listen on: DCUtR can then send it, and the simultaneous QUIC dials open both NATs.
 * Observers are run members only (the gater refuses anyone else); a wrong prediction costs a
 * failed direct dial, never a wrong peer (connections are authenticated by key).
 */
export class QuicPortPrediction {
  private readonly confirmed = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor (private readonly components: PredictionComponents) {}

  start (): void {
    this.timer = setInterval(() => this.check(), 1000)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
  }

  /** addresses taken as ours so far (without /p2p) */
  predicted (): string[] {
    return [...this.confirmed]
  }

  private check (): void {
    const listenPorts = new Set(this.components.transportManager.getAddrs()
      .filter(a => QUIC_V1.exactMatch(a))
      .map(a => portOf(a)))
    if (listenPorts.size === 0) return
    for (const ma of this.components.addressManager.getObservedAddrs()) {
      const key = ma.toString()
      if (this.confirmed.has(key) || !QUIC_V1.exactMatch(ma) || addressKind(ma) !== 'public') continue
      if (!listenPorts.has(portOf(ma))) continue
      this.confirmed.add(key)
      this.components.addressManager.confirmObservedAddr(ma, { type: 'observed' })
    }
  }
}

function portOf (ma: Multiaddr): number | undefined {
  const c = getNetConfig(ma)
  return 'port' in c ? c.port : undefined
}
