// Finding a member again: a dial that fails on the addresses our peer store holds asks the run's
// DHT where the member is now and dials once more (connections.md §5). Here the member came back
// on another port, as a NATed member comes back at another relay's address.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { dialMemberProtocol } from '../../src/net/member-dial.js'
import { connect, makeHost, stopAll, waitFor } from './helpers.js'
import type { TapestryHost } from '../../src/net/index.js'

/**
 * What the dials ask for: a protocol of the test's own. /ipfs/ping allows one outbound stream per
 * peer, and the DHT pings its contacts on it, so a dial on it failed now and then (too many streams).
 */
const PING = '/tapestry-test/probe/1.0.0'
const serveProbe = async (h: TapestryHost): Promise<void> => { await h.libp2p.handle(PING, stream => { stream.abort(new Error('probe only')) }, { runOnLimitedConnection: true }) }

/** Peers in a host's DHT routing table (not public API: a test only waits on it). */
const tableSize = (h: TapestryHost): number => (h.libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size

test('a member that moved is found through the DHT and dialled again', { timeout: 60_000 }, async (t) => {
  const hosts: TapestryHost[] = []
  t.after(async () => { await stopAll(hosts) })
  const key = await generateKeyPair('Ed25519')
  const [a, dht] = [await makeHost(), await makeHost()]
  const before = await makeHost({ privateKey: key })
  hosts.push(a, dht, before)
  await connect(a, before)
  const oldAddr = before.multiaddrs()[0]
  await a.libp2p.hangUp(before.libp2p.peerId)
  await before.stop()

  // the same member on a new port, known to the DHT member but not to a
  const after = await makeHost({ privateKey: key })
  hosts.push(after)
  await serveProbe(after)
  assert.notEqual(after.multiaddrs()[0], oldAddr)
  await connect(after, dht)
  await connect(a, dht)
  await waitFor(() => tableSize(dht) >= 2 && tableSize(a) >= 1, 10_000, 'the DHT routing tables')
  const known = (await a.libp2p.peerStore.get(after.libp2p.peerId)).addresses.map(x => x.multiaddr.toString())
  assert.ok(!known.some(x => after.multiaddrs()[0].startsWith(x)), `a knows only the old address (${known.join(', ')})`)

  await assert.rejects(a.libp2p.dialProtocol(after.libp2p.peerId, PING, { signal: AbortSignal.timeout(5_000) }), 'a plain dial tries the old address only')
  const stream = await dialMemberProtocol(a.libp2p, after.libp2p.peerId, PING, { signal: AbortSignal.timeout(10_000) })
  assert.equal(stream.protocol, PING)
  assert.equal(a.libp2p.getConnections(after.libp2p.peerId)[0]?.remoteAddr.toString(), after.multiaddrs()[0])
  stream.abort(new Error('done'))
})

test('a member reserved on a relay that no one told us of is reached through the relays we are connected to', { timeout: 60_000 }, async (t) => {
  const hosts: TapestryHost[] = []
  t.after(async () => { await stopAll(hosts) })
  const relay = await makeHost()
  hosts.push(relay)
  // a NATed member: it listens on nothing but its reservation, and no DHT knows that address
  const natted = await makeHost({ listen: [], nat: { relayReservations: 1 }, bootstrap: [relay.multiaddrs()[0]], dhtAddresses: 'public' })
  const a = await makeHost({ dhtAddresses: 'public' })
  hosts.push(natted, a)
  await serveProbe(natted)
  await waitFor(() => natted.reachability().relays.includes(relay.libp2p.peerId.toString()), 15_000, 'a reservation on the relay')
  await connect(a, relay)
  await waitFor(async () => (await a.libp2p.peerStore.get(relay.libp2p.peerId)).protocols.includes('/libp2p/circuit/relay/0.2.0/hop'), 5_000, 'identify of the relay')
  // what a held before: an address of the member's that is dead now
  await a.libp2p.peerStore.merge(natted.libp2p.peerId, { multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/1')] })

  await assert.rejects(a.libp2p.dialProtocol(natted.libp2p.peerId, PING, { signal: AbortSignal.timeout(5_000) }), 'a plain dial tries the dead address only')
  const said: string[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => { said.push(String(JSON.parse(line).msg)) } })
  const stream = await dialMemberProtocol(a.libp2p, natted.libp2p.peerId, PING, { signal: AbortSignal.timeout(10_000), runOnLimitedConnection: true, log })
  assert.deepEqual(said, ['member unreachable at the addresses we know: trying it through our relays'])
  assert.equal(stream.protocol, PING)
  assert.match(a.libp2p.getConnections(natted.libp2p.peerId)[0]?.remoteAddr.toString() ?? '', /\/p2p-circuit\//)
  stream.abort(new Error('done'))
})
