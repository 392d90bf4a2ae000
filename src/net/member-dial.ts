// Opening a protocol stream to a member whose addresses may have changed since we learned them.
// A member behind a NAT is reached at a relay address that lives as long as its reservation: the
// reservation moves to another relay when the relay dies or the connection to it drops, and the
// address moves with it. Our peer store keeps what identify or a DHT walk told us earlier, and
// libp2p asks peer routing only for a peer it knows no address of at all, so a member known by
// its LAN address and a stale relay address stays undialable for good. After a failed dial we ask
// the run's DHT for the member's current addresses (the members connected to it hold them, kept
// fresh by identify push) and dial once more if that taught us anything new; if it did not (the
// DHT lagged in the NAT test), we try the member through each relay we are connected to.
import { Circuit } from '@multiformats/multiaddr-matcher'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'

export interface MemberDialOptions {
  signal: AbortSignal
  negotiateFully?: boolean
  runOnLimitedConnection?: boolean
  /** says at debug when a member was looked up or tried through relays */
  log?: Logger
}

/** How long one lookup of a member's addresses may take. */
const LOOKUP_MS = 5_000
/** How long a dial waits on a lookup before it tries the relays. */
const WAIT_MS = 1_500
/** A member's addresses are looked up at most this often. */
const LOOKUP_EVERY_MS = 2_000

interface Lookup { done: Promise<boolean>, at: number }

/** The latest lookup per peer: concurrent failed dials to one member share one. */
const lookups = new WeakMap<Libp2p, Map<string, Lookup>>()

/**
 * dialProtocol; when the dial fails and no connection to the peer is left, one lookup of its
 * current addresses and, if it named a new one, one more dial; if it did not, one dial through
 * each relay we are connected to, since the member may hold a reservation there that no one told
 * us of. A dial the caller gave up on (its signal fired, often while a dial to a dead address
 * hung) still starts the lookup, so the caller's next attempt finds the new address.
 */
export async function dialMemberProtocol (libp2p: Libp2p, peer: PeerId, protocol: string, options: MemberDialOptions): Promise<Stream> {
  // libp2p reads a `log` of its own in some dial options: ours stays out of them
  const { log, ...dial } = options
  try {
    return await libp2p.dialProtocol(peer, protocol, dial)
  } catch (err) {
    if (!unreachable(err) || libp2p.getConnections(peer).length > 0) throw err
    const learned = learnAddresses(libp2p, peer)
    if (dial.signal.aborted) throw err
    // a walk that finds nothing can take its whole time: the relays are tried after WAIT_MS of it
    if (await falseOnAbort(learned, AbortSignal.any([dial.signal, AbortSignal.timeout(WAIT_MS)]))) {
      log?.debug({ peer: peer.toString(), protocol }, 'member found at a new address in the DHT: dialling again')
      return await libp2p.dialProtocol(peer, protocol, dial)
    }
    const viaRelays = await throughConnectedRelays(libp2p, peer)
    if (viaRelays.length === 0 || dial.signal.aborted) throw err
    log?.debug({ peer: peer.toString(), protocol, relays: viaRelays.length }, 'member unreachable at the addresses we know: trying it through our relays')
    return await libp2p.dialProtocol(viaRelays, protocol, dial)
  }
}

/** Circuit addresses of `peer` through every peer we hold a direct connection to that relays. */
async function throughConnectedRelays (libp2p: Libp2p, peer: PeerId): Promise<Multiaddr[]> {
  const out: Multiaddr[] = []
  for (const c of libp2p.getConnections()) {
    if (c.remotePeer.equals(peer) || c.limits != null || Circuit.matches(c.remoteAddr)) continue
    const protocols = (await libp2p.peerStore.get(c.remotePeer).catch(() => undefined))?.protocols ?? []
    if (!protocols.includes(RELAY_HOP)) continue
    const relay = c.remoteAddr.getComponents().some(x => x.name === 'p2p') ? c.remoteAddr : c.remoteAddr.encapsulate(`/p2p/${c.remotePeer.toString()}`)
    out.push(relay.encapsulate(`/p2p-circuit/p2p/${peer.toString()}`))
  }
  return out
}

const RELAY_HOP = '/libp2p/circuit/relay/0.2.0/hop'

/**
 * Whether a dial failed for want of a working address: refused or unroutable, or it hung until it
 * was given up. A peer that answered and refused us (its gate, the protocol) is where we thought.
 */
function unreachable (err: unknown, depth = 0): boolean {
  if (err == null || typeof err !== 'object' || depth > 4) return false
  const e = err as { name?: unknown, message?: unknown, errors?: unknown, cause?: unknown }
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.name === 'NoValidAddressesError') return true
  if (UNREACHABLE.test(String(e.message))) return true
  const inner = [...(Array.isArray(e.errors) ? e.errors : []), e.cause]
  return inner.some(x => unreachable(x, depth + 1))
}

/** Socket errors of a connect that reached no one listening for us. */
const UNREACHABLE = /\b(ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|ETIMEDOUT|EADDRNOTAVAIL)\b/

/** `p`, or false as soon as `signal` fires (`p` goes on, for later dials). */
async function falseOnAbort (p: Promise<boolean>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false
  let onAbort = (): void => {}
  const aborted = new Promise<boolean>(resolve => { onAbort = () => { resolve(false) }; signal.addEventListener('abort', onAbort, { once: true }) })
  try {
    return await Promise.race([p, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** Ask the DHT (not the peer store) where `peer` is now; true when it named an address we lacked. */
async function learnAddresses (libp2p: Libp2p, peer: PeerId): Promise<boolean> {
  let perPeer = lookups.get(libp2p)
  if (perPeer == null) lookups.set(libp2p, perPeer = new Map())
  const key = peer.toString()
  const last = perPeer.get(key)
  if (last != null && Date.now() - last.at < LOOKUP_EVERY_MS) return await last.done
  const done = (async () => {
    const known = new Set((await libp2p.peerStore.get(peer).catch(() => undefined))?.addresses.map(a => a.multiaddr.toString()) ?? [])
    try {
      // findPeer merges what it finds into the peer store
      const found = await libp2p.peerRouting.findPeer(peer, { useCache: false, signal: AbortSignal.timeout(LOOKUP_MS) })
      return found.multiaddrs.some(a => !known.has(a.toString()))
    } catch {
      return false
    }
  })()
  perPeer.set(key, { done, at: Date.now() })
  return await done
}
