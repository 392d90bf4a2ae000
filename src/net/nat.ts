// Crossing NATs and firewalls with libp2p's own parts (protocols/connections.md): the options, the
// services they turn on (AutoNAT v2, DCUtR, a members-only circuit relay v2 server, UPnP), and
// QUIC, whose native module may be missing on a platform.
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { dcutr } from '@libp2p/dcutr'
import { uPnPNAT } from '@libp2p/upnp-nat'
import type { tcp } from '@libp2p/tcp'
import { NetError, NetErrorCode } from './errors.js'

/**
 * How a host crosses NATs. AutoNAT (is an address of ours dialable from outside?) and DCUtR (hole
 * punching of relayed connections) are always on; these choose the rest.
 */
export interface TapestryNatOptions {
  /**
   * Serve as a circuit relay v2 for the run's members (only members: the gater refuses the rest,
   * as reservers, sources and destinations). Only useful on a reachable node; harmless elsewhere.
   *
   * @default true
   */
  relayServe?: boolean
  /**
   * Reservations to hold on relay members: a node behind a NAT that allows no inbound connections
   * is reached through these (`/p2p-circuit` listen addresses). Two give a spare when a relay dies.
   *
   * @default 0
   */
  relayReservations?: number
  /** Most members one relay serves at once. @default 64 */
  relayMaxReservations?: number
  /** Bytes one relayed connection may carry before the relay resets it (it is then reopened). @default 268_435_456 (256 MiB) */
  relayDataLimitBytes?: number
  /** How long one relayed connection may stay open. @default 1_800_000 (30 min) */
  relayDurationLimitMs?: number
  /**
   * Ask the LAN's gateway for port mappings (UPnP IGD / NAT-PMP); a mapping the gateway grants is
   * advertised at once.
   *
   * @default false
   */
  upnp?: boolean
}

/** Relay reservations asked for, checked: 0 … 4. */
export function relayReservationsOf (nat: TapestryNatOptions): number {
  const n = nat.relayReservations ?? 0
  if (!Number.isInteger(n) || n < 0 || n > 4) throw new NetError(NetErrorCode.BAD_INPUT, 'nat.relayReservations must be an integer 0 … 4')
  return n
}

export interface NatServiceFactories {
  autonat: ReturnType<typeof autoNATv2>
  dcutr: ReturnType<typeof dcutr>
  relay?: ReturnType<typeof circuitRelayServer>
  upnp?: ReturnType<typeof uPnPNAT>
}

/**
 * The libp2p services for reachability. AutoNAT v2, not v1: v1's server verified an address by
 * dialling it without forcing a new connection, got the requester's own connection back and
 * closed it, dropping the member every few seconds.
 */
export function natServices (nat: TapestryNatOptions, runName: string): NatServiceFactories {
  return {
    autonat: autoNATv2(),
    dcutr: dcutr(),
    ...(nat.relayServe ?? true
      ? {
          relay: circuitRelayServer({
            reservations: {
              maxReservations: nat.relayMaxReservations ?? 64,
              defaultDataLimit: BigInt(nat.relayDataLimitBytes ?? 256 * 1024 * 1024),
              defaultDurationLimit: nat.relayDurationLimitMs ?? 30 * 60_000
            }
          })
        }
      : {}),
    // a mapping the gateway granted is ours: advertise it without waiting for dial-backs
    ...(nat.upnp === true ? { upnp: uPnPNAT({ autoConfirmAddress: true, portMappingDescription: `tapestry ${runName}` }) } : {})
  }
}

/**
 * QUIC flow-control windows sized like yamux's (64 MiB a stream covers 1.6 GB/s at 40 ms RTT);
 * the package's defaults (10 MB a stream, 15 MB a connection) cap a 40 ms link near 250 MB/s.
 */
export const QUIC_TUNING = {
  maxStreamData: 64 * 1024 * 1024,
  maxConnectionData: 96 * 1024 * 1024
}

/** The QUIC package, installed on demand (not a dependency: see loadQuic). */
export const QUIC_PACKAGE = '@chainsafe/libp2p-quic'

/** `quic(init)` of the QUIC package: a libp2p transport factory, like tcp()'s. */
type QuicFactory = (init: typeof QUIC_TUNING) => ReturnType<typeof tcp>
let quicLoad: Promise<{ factory?: QuicFactory, why?: string }> | undefined

/**
 * QUIC is optional: `npm install --no-save @chainsafe/libp2p-quic@2.1.1` adds it (README). It is
 * not a dependency because `npm ci` cannot install it: its 2.1.1 release lists native packages
 * for six platforms that were never published at that version (only linux-x64-gnu was), so no lock
 * file can name them and `npm ci` refuses every lock. Where it is missing, or its native module does
 * not load, the host runs on TCP alone and says why.
 */
export async function loadQuic (): Promise<{ factory?: QuicFactory, why?: string }> {
  // a variable specifier: the compiler must not require the package to be there
  const specifier: string = QUIC_PACKAGE
  quicLoad ??= import(specifier)
    .then((m: { quic?: unknown }) => typeof m.quic === 'function' ? { factory: m.quic as QuicFactory } : { why: `${QUIC_PACKAGE} has no quic()` })
    .catch((err: unknown) => ({ why: `${QUIC_PACKAGE} not installed or not loadable (${err instanceof Error ? err.message.split('\n')[0] : String(err)})` }))
  return await quicLoad
}
