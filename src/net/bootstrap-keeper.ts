// Keeps a host connected to its bootstrap peers. @libp2p/bootstrap dials each of them once, a
// second after start: a node started before its bootstrap peer, or whose one dial failed, stayed
// alone for good. This redials every bootstrap peer it is not connected to, backing off per peer.
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { NetError, NetErrorCode } from './errors.js'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'

/** Multiaddr code of the /p2p/<peer id> component. */
const CODE_P2P = 421

export interface BootstrapKeeperOptions {
  /**
   * First retry after a failed dial; each failure doubles it up to `maxRetryMs`.
   *
   * @default 1_000
   */
  firstRetryMs?: number
  /** @default 30_000 */
  maxRetryMs?: number
  /**
   * How often connections are checked (a dropped bootstrap peer is redialled at the next check).
   *
   * @default 1_000
   */
  checkMs?: number
  log?: Logger
}

interface Target { peer: PeerId, addr: Multiaddr, nextAt: number, backoffMs: number, dialing: boolean }

/** Parse bootstrap multiaddrs; each must name its peer (/p2p/<id>), or the peer cannot be checked. */
export function parseBootstrapList (list: readonly string[]): Array<{ peer: PeerId, addr: Multiaddr }> {
  return list.map(s => {
    let addr: Multiaddr
    try {
      addr = multiaddr(s)
    } catch (err) {
      throw new NetError(NetErrorCode.BAD_INPUT, `bootstrap address ${JSON.stringify(s)} is not a multiaddr: ${String(err)}`, { option: 'bootstrap', problem: 'not-a-multiaddr' })
    }
    const id = addr.getComponents().findLast(c => c.code === CODE_P2P)?.value
    if (id == null) throw new NetError(NetErrorCode.BAD_INPUT, `bootstrap address ${s} has no /p2p/<peer id>`, { option: 'bootstrap', problem: 'no-peer-id' })
    try {
      return { peer: peerIdFromString(id), addr }
    } catch (err) {
      throw new NetError(NetErrorCode.BAD_INPUT, `bootstrap address ${s} names an invalid peer id: ${String(err)}`, { option: 'bootstrap', problem: 'bad-peer-id' })
    }
  })
}

/**
 * Start redialling `list` (already parsed) on `libp2p`; returns a function that stops it. The
 * first dial is left to @libp2p/bootstrap, so this starts after one `firstRetryMs`.
 */
export function keepBootstrapped (libp2p: Libp2p, list: ReadonlyArray<{ peer: PeerId, addr: Multiaddr }>, options: BootstrapKeeperOptions = {}): () => void {
  const first = options.firstRetryMs ?? 1_000
  const max = options.maxRetryMs ?? 30_000
  const self = libp2p.peerId.toString()
  const targets: Target[] = list
    .filter(t => t.peer.toString() !== self)
    .map(t => ({ ...t, nextAt: Date.now() + first, backoffMs: first, dialing: false }))

  const check = (): void => {
    const now = Date.now()
    for (const t of targets) {
      if (libp2p.getConnections(t.peer).length > 0) {
        t.backoffMs = first // a later drop is retried promptly
        t.nextAt = now + first
        continue
      }
      if (t.dialing || now < t.nextAt) continue
      t.dialing = true
      libp2p.dial(t.addr, { signal: AbortSignal.timeout(10_000) })
        .then(() => { options.log?.info({ peer: t.peer.toString() }, 'reconnected to bootstrap peer') })
        .catch(err => {
          // said aloud on the first failure and then at most every max backoff: an operator must
          // learn that a partner's node refuses this one (not admitted yet) without a debug log
          const loud = t.backoffMs === first || t.backoffMs === max
          options.log?.[loud ? 'warn' : 'debug']({ peer: t.peer.toString(), retryInMs: t.backoffMs, err: String(err) },
            'bootstrap peer unreachable or refusing this node (is it up? has an admin admitted this node to the run?)')
          t.nextAt = Date.now() + t.backoffMs
          t.backoffMs = Math.min(max, t.backoffMs * 2)
        })
        .finally(() => { t.dialing = false })
    }
  }
  const timer = setInterval(check, options.checkMs ?? 1_000)
  timer.unref()
  return () => { clearInterval(timer) }
}
