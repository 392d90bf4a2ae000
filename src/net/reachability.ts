// How this node can be reached, and how each connection to a member runs: the answer to "why can
// my partner not see me" that `tapestry status` prints. libp2p's own parts do the work (AutoNAT
// verifies our public addresses, circuit relay v2 holds reservations on reachable members, DCUtR
// punches holes, UPnP maps ports); this file watches them and says what happened.
import { isPrivate, isLoopback } from '@libp2p/utils'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, Connection } from '@libp2p/interface'

/**
 * - `public`: an address of ours that outsiders can dial was verified (AutoNAT dial-back, a UPnP
 *   mapping the gateway confirmed, or an announce address the operator set);
 * - `relayed`: no such address, but a reservation on a relay member: others reach us through it,
 *   and DCUtR upgrades those connections where the NAT allows;
 * - `private`: only LAN or loopback addresses (fine inside one site, unreachable from outside);
 * - `unreachable`: listening on nothing dialable at all.
 */
export type Reachability = 'public' | 'relayed' | 'private' | 'unreachable'

/**
 * How the connection to a peer runs: straight, through a relay, or straight to a peer first
 * reached through a relay (DCUtR's hole punch or unilateral upgrade, or a redial that found a
 * direct path).
 */
export type ConnectionPath = 'direct' | 'relayed' | 'direct-after-relay'

export type AddressKind = 'relay' | 'public' | 'private' | 'loopback'

export function addressKind (ma: Multiaddr): AddressKind {
  if (Circuit.matches(ma)) return 'relay'
  const first = ma.getComponents()[0]
  if (first?.name.startsWith('dns') === true && first.value === 'localhost') return 'loopback'
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
  /** open connections to peers, by how they run */
  connections: Record<ConnectionPath, number>
  /** per connected peer: how its connections run (the best one counts) */
  peers: Record<string, ConnectionPath>
  /** direct connections opened to a peer we were so far reaching only through a relay */
  upgrades: number
  /** relays this node holds a reservation on */
  relays: string[]
  /** members holding a reservation on this node's relay service (undefined when it does not serve) */
  relayingFor?: number
  upnp: boolean
}

interface RelayServerLike { reservations?: { size: number } }

/** Watches connections from the host's start, to tell relayed, direct and upgraded ones apart. */
export class ReachabilityWatch {
  private readonly everRelayed = new Set<string>()
  private readonly punched = new Set<string>()
  upgrades = 0

  constructor (private readonly libp2p: Libp2p, private readonly opts: { upnp: boolean }) {
    libp2p.addEventListener('connection:open', evt => this.onOpen(evt.detail))
  }

  private onOpen (c: Connection): void {
    const peer = c.remotePeer.toString()
    if (Circuit.matches(c.remoteAddr)) { this.everRelayed.add(peer); return }
    if (this.everRelayed.has(peer) && !this.punched.has(peer)) {
      this.punched.add(peer)
      this.upgrades++
    }
  }

  private pathOf (c: Connection): ConnectionPath {
    if (Circuit.matches(c.remoteAddr)) return 'relayed'
    return this.punched.has(c.remotePeer.toString()) ? 'direct-after-relay' : 'direct'
  }

  report (): ReachabilityReport {
    const addresses: Record<AddressKind, string[]> = { relay: [], public: [], private: [], loopback: [] }
    for (const ma of this.libp2p.getMultiaddrs()) addresses[addressKind(ma)].push(ma.toString())
    const relays = [...new Set(addresses.relay.map(a => relayOf(multiaddr(a))).filter((r): r is string => r != null))]
    const connections: Record<ConnectionPath, number> = { direct: 0, relayed: 0, 'direct-after-relay': 0 }
    const peers: Record<string, ConnectionPath> = {}
    const rank: Record<ConnectionPath, number> = { relayed: 0, direct: 1, 'direct-after-relay': 2 }
    for (const c of this.libp2p.getConnections()) {
      if (c.status !== 'open') continue
      const p = this.pathOf(c)
      connections[p]++
      const id = c.remotePeer.toString()
      if (peers[id] == null || rank[p] > rank[peers[id]]) peers[id] = p
    }
    const reachability: Reachability = addresses.public.length > 0
      ? 'public'
      : addresses.relay.length > 0 ? 'relayed' : (addresses.private.length + addresses.loopback.length > 0 ? 'private' : 'unreachable')
    const server = (this.libp2p.services as Record<string, unknown>).relay as RelayServerLike | undefined
    return {
      reachability,
      addresses,
      connections,
      peers,
      upgrades: this.upgrades,
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
