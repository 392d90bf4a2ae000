// Opening a protocol stream to a member whose addresses may have changed since we learned them.
// A member behind a NAT is reached at a relay address that lives as long as its reservation: the
// reservation moves to another relay when the relay dies or the connection to it drops, and the
// address moves with it. Our peer store keeps what identify or a DHT walk told us earlier, and
// libp2p asks peer routing only for a peer it knows no address of at all, so a member known by
// its LAN address and a stale relay address stays undialable for good. After a failed dial we ask
// the run's DHT for the member's current addresses (the members connected to it hold them, kept
// fresh by identify push) and dial once more if that taught us anything new.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'

export interface MemberDialOptions {
  signal: AbortSignal
  negotiateFully?: boolean
  runOnLimitedConnection?: boolean
}

/** How long one lookup of a member's addresses may take. */
const LOOKUP_MS = 5_000
/** A member's addresses are looked up at most this often. */
const LOOKUP_EVERY_MS = 2_000

interface Lookup { done: Promise<boolean>, at: number }

/** The latest lookup per peer: concurrent failed dials to one member share one. */
const lookups = new WeakMap<Libp2p, Map<string, Lookup>>()

/**
 * dialProtocol; when the dial fails and no connection to the peer is left, one lookup of its
 * current addresses and, if it named a new one, one more dial. A dial the caller gave up on (its
 * signal fired, often while a dial to a dead address hung) still starts the lookup, so the
 * caller's next attempt finds the new address.
 */
export async function dialMemberProtocol (libp2p: Libp2p, peer: PeerId, protocol: string, options: MemberDialOptions): Promise<Stream> {
  try {
    return await libp2p.dialProtocol(peer, protocol, options)
  } catch (err) {
    if (!unreachable(err) || libp2p.getConnections(peer).length > 0) throw err
    const learned = learnAddresses(libp2p, peer)
    if (options.signal.aborted || !await unlessAborted(learned, options.signal)) throw err
    return await libp2p.dialProtocol(peer, protocol, options)
  }
}

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

/** `p`, or false as soon as `signal` fires. */
async function unlessAborted (p: Promise<boolean>, signal: AbortSignal): Promise<boolean> {
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
