// The libp2p host: TLS first, run-private DHT, membership gate, relaying for members, persistent identity, ping.
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { BulkServer, NetError, NetErrorCode, createTapestryHost, dhtProtocol, runTopics, MemoryBlobStore, serveBlobs, fetchBlob } from '../../src/net/index.js'
import { RUN, connect, makeHost, stopAll, waitFor } from './helpers.js'
import type { TapestryHost } from '../../src/net/index.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('tapestry host', () => {
  const hosts: TapestryHost[] = []
  const track = (h: TapestryHost): TapestryHost => { hosts.push(h); return h }
  after(async () => { await stopAll(hosts) })

  it('listens on loopback and connects with TLS 1.3 and yamux', async () => {
    const a = track(await makeHost())
    const b = track(await makeHost())
    assert.match(a.multiaddrs()[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    await connect(a, b)
    const conn = a.libp2p.getConnections(b.libp2p.peerId)[0]
    assert.equal(conn.encryption, '/tls/1.0.0')
    assert.equal(conn.multiplexer, '/yamux/1.0.0')
    const rtt = await a.libp2p.services.ping.ping(b.libp2p.peerId)
    assert.ok(rtt >= 0)
  })

  it('keeps a connection whose /ipfs/ping stream is busy: the heartbeat pings on a protocol of its own', async () => {
    // the DHT checks a contact on /ipfs/ping, which allows one outbound stream per peer; a
    // heartbeat on that protocol failed meanwhile and libp2p closed the connection (connections.md §5)
    const a = track(await makeHost({ heartbeatMs: 200 }))
    const b = track(await makeHost({ heartbeatMs: 200 }))
    await connect(a, b)
    const conn = a.libp2p.getConnections(b.libp2p.peerId)[0]
    const held = await a.libp2p.dialProtocol(b.libp2p.peerId, '/ipfs/ping/1.0.0')
    await sleep(1_500)
    assert.equal(conn.status, 'open', 'the connection outlived seven heartbeats')
    assert.deepEqual(a.libp2p.getConnections(b.libp2p.peerId).map(c => c.id), [conn.id])
    assert.ok(conn.streams.includes(held), 'the /ipfs/ping stream is still open')
    assert.ok(typeof conn.rtt === 'number' && conn.rtt >= 0, 'the heartbeat measured the round trip')
    held.abort(new Error('done'))
  })

  it('falls back to Noise with a peer that only speaks Noise', async () => {
    const a = track(await makeHost())
    const n = track(await makeHost({ encryption: ['noise'] }))
    await connect(a, n)
    assert.equal(a.libp2p.getConnections(n.libp2p.peerId)[0].encryption, '/noise')
  })

  it('speaks a run-private DHT protocol and namespaces topics by run', async () => {
    const a = track(await makeHost())
    assert.ok(a.libp2p.getProtocols().includes(dhtProtocol(RUN)), a.libp2p.getProtocols().join(' '))
    assert.ok(!a.libp2p.getProtocols().includes('/ipfs/kad/1.0.0'))
    assert.deepEqual(a.topics, runTopics(RUN))
    assert.equal(a.topics.commit, `/tapestry/${RUN}/commit/1`)
  })

  it('routes through the run-private DHT on loopback (server mode, loopback addresses kept)', async () => {
    const [x, y, z] = await Promise.all([makeHost(), makeHost(), makeHost()]).then(hs => hs.map(track))
    await connect(x, y)
    await connect(z, y)
    // x never met z: only y's routing table can tell it where z listens
    // y learns both into its routing table once identify has run: retry briefly until it has
    assert.equal(x.libp2p.getConnections(z.libp2p.peerId).length, 0, 'x must not have met z directly')
    let addrs: string[] = []
    await waitFor(async () => {
      try {
        const found = await x.libp2p.peerRouting.findPeer(z.libp2p.peerId, { signal: AbortSignal.timeout(2000) })
        addrs = found.multiaddrs.map(ma => ma.toString())
      } catch {}
      return addrs.length > 0
    }, 10_000, 'x to find z through y')
    assert.ok(addrs.some(a => a.startsWith('/ip4/127.0.0.1/tcp/')), `found ${addrs.join(' ')}`)
  })

  it('keeps the peer id of a caller-provided key', async () => {
    const key = await generateKeyPair('Ed25519')
    const a = track(await makeHost({ privateKey: key }))
    assert.equal(a.peerId, peerIdFromPrivateKey(key).toString())
    await a.stop()
    const again = track(await makeHost({ privateKey: key }))
    assert.equal(again.peerId, a.peerId)
  })

  it('accepts a burst of connections from peers on the same machine', async () => {
    // libp2p's default refuses a host's 6th inbound connection within a second; a local cluster
    // (demo, tests) starting at once hits that, so loopback is exempt
    const hub = track(await makeHost())
    const peers = await Promise.all(Array.from({ length: 8 }, async () => track(await makeHost())))
    const results = await Promise.allSettled(peers.map(async p => { await connect(p, hub) }))
    assert.deepEqual(results.map(r => r.status === 'rejected' ? String(r.reason) : 'ok'), peers.map(() => 'ok'))
    await waitFor(() => hub.libp2p.getPeers().length === 8, 5000, 'the hub to see all 8 peers')
  })

  it('refuses peers the membership gate rejects, in both directions', async () => {
    const outsider = track(await makeHost())
    const member = track(await makeHost({ allowPeer: id => id !== outsider.peerId }))
    // outbound from the gated host: refused at dial
    await assert.rejects(member.dial(outsider.multiaddrs()[0]))
    // inbound to the gated host: refused once the handshake proves who is calling
    await assert.rejects(async () => {
      await outsider.dial(member.multiaddrs()[0])
      // some refusals surface only as an immediately closed connection
      await waitFor(() => outsider.libp2p.getConnections(member.libp2p.peerId).length === 0, 2000, 'refused connection to close')
      throw new Error('connection closed by gate')
    })
    assert.equal(member.libp2p.getConnections(outsider.libp2p.peerId).length, 0)
    // and an allowed peer still gets in
    const friend = track(await makeHost())
    await connect(friend, member)
    await waitFor(() => member.libp2p.getConnections(friend.libp2p.peerId).length === 1, 2000, 'friend connection')
  })

  it('counts gate refusals, and drops a peer whose identify names another run (one key in two runs)', async () => {
    const outsider = track(await makeHost())
    const member = track(await makeHost({ allowPeer: id => id !== outsider.peerId }))
    await outsider.dial(member.multiaddrs()[0]).catch(() => {})
    await waitFor(() => member.refused.connections >= 1, 2000, 'refusal counted')
    assert.equal(member.admits(outsider.peerId), false)
    assert.equal(member.admits(member.peerId), true)
    // a key admitted to both runs passes both gaters: identify's user agent names the run
    const key = await generateKeyPair('Ed25519')
    const ours = track(await makeHost({ runId: 'run-one', runName: 'one' }))
    const theirs = track(await makeHost({ runId: 'run-two', privateKey: key }))
    await theirs.dial(ours.multiaddrs()[0]).catch(() => {})
    // whichever side identifies the other first hangs up
    await waitFor(() => ours.refused.connections + theirs.refused.connections >= 1 && ours.libp2p.getConnections(theirs.libp2p.peerId).length === 0, 5000, 'peer of another run dropped')
  })

  it('relays between members only: a member reached through a relay serves blobs over it, an outsider can neither reserve nor be relayed', async () => {
    const keys = await Promise.all([0, 1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
    const [relayId, aId, bId] = keys.map(k => peerIdFromPrivateKey(k).toString())
    const members = new Set([relayId, aId, bId])
    const allowPeer = (id: string): boolean => members.has(id)
    const relay = track(await makeHost({ privateKey: keys[0], allowPeer }))
    // a listens on nothing but its reservation: like a member behind a NAT, it is reachable only through the relay
    const a = track(await makeHost({ privateKey: keys[1], allowPeer, listen: [], nat: { relayReservations: 1 }, bootstrap: [relay.multiaddrs()[0]] }))
    const b = track(await makeHost({ privateKey: keys[2], allowPeer }))
    const outsider = track(await makeHost({ privateKey: keys[3], nat: { relayReservations: 1 }, bootstrap: [relay.multiaddrs()[0]] }))
    await waitFor(() => a.reachability().relays.includes(relayId), 15_000, 'a reservation on the relay')
    const circuit = a.multiaddrs().find(m => m.includes('/p2p-circuit/'))
    assert.ok(circuit != null, a.multiaddrs().join(' '))
    assert.equal(a.reachability().reachability, 'relayed')

    // b reaches a only through the relay, and a blob crosses it
    const store = new MemoryBlobStore()
    const bytes = new Uint8Array(300_000).map((_, i) => i * 7)
    const cid = store.put(bytes)
    // a offers bulk transfers, but never over a relay: the bytes must cross the relay's limits
    const bulk = await BulkServer.listen({ listenIp: '127.0.0.1' })
    await serveBlobs(a, { store, bulk: { server: bulk, minBytes: 65_536 } })
    await b.dial(circuit)
    const conns = b.libp2p.getConnections(a.libp2p.peerId)
    assert.equal(conns.length, 1)
    assert.match(conns[0].remoteAddr.toString(), /\/p2p-circuit\//)
    assert.ok(conns[0].limits != null, 'a relayed connection carries the relay\'s limits')
    const got = await fetchBlob(b, cid, [aId], { maxBytes: 1 << 20, bulk: { minBytes: 65_536 } })
    assert.deepEqual(got, bytes)
    assert.equal(bulk.stats.transfers, 0, 'no bulk transfer over a relayed connection')
    await bulk.close()
    await waitFor(() => b.reachability().peers[aId] === 'relayed', 2000, 'b to see its path to a as relayed')
    assert.ok(((relay.reachability().relayingFor) ?? 0) >= 1)

    // an outsider is refused before any relay protocol runs: no reservation, no relayed dial
    await sleep(1500)
    assert.equal(outsider.reachability().relays.length, 0, 'no reservation for a non-member')
    await assert.rejects(outsider.dial(circuit))
    assert.equal(a.libp2p.getConnections(outsider.libp2p.peerId).length, 0)
    assert.ok(relay.refused.connections >= 1)
  })

  it('dials bootstrap peers at start', async () => {
    const seed = track(await makeHost())
    const joiner = track(await makeHost({ bootstrap: [seed.multiaddrs()[0]] }))
    await waitFor(() => joiner.libp2p.getConnections(seed.libp2p.peerId).length > 0, 10_000, 'bootstrap dial')
  })

  it('keeps redialling a bootstrap peer that is down at start or drops later', async () => {
    // the bootstrap peer's identity and port are fixed, and it comes up only after the joiner
    const key = await generateKeyPair('Ed25519')
    const probe = await makeHost()
    const port = Number(/\/tcp\/(\d+)/.exec(probe.multiaddrs()[0])?.[1])
    await probe.stop()
    const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(key).toString()}`
    // until the joiner's first dial has been refused, the port answers with a TCP server that hangs up
    let refused = 0
    const door = createServer(socket => { refused++; socket.destroy() })
    await new Promise<void>(resolve => door.listen(port, '127.0.0.1', resolve))
    const joiner = track(await makeHost({ bootstrap: [addr] }))
    try {
      await waitFor(() => refused > 0, 10_000, 'the first bootstrap dial')
    } finally {
      await new Promise(resolve => door.close(resolve))
    }
    assert.equal(joiner.libp2p.getConnections().length, 0)
    const seed = track(await makeHost({ privateKey: key, listen: [`/ip4/127.0.0.1/tcp/${port}`] }))
    await waitFor(() => joiner.libp2p.getConnections(seed.libp2p.peerId).length > 0, 15_000, 'redial after the seed came up')
    // a dropped connection is redialled too
    await joiner.libp2p.hangUp(seed.libp2p.peerId)
    await waitFor(() => joiner.libp2p.getConnections(seed.libp2p.peerId).length > 0, 10_000, 'redial after a drop')
  })

  it('refuses a bootstrap address that does not name its peer', async () => {
    await assert.rejects(makeHost({ bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }), (e: unknown) => e instanceof NetError && e.code === NetErrorCode.BAD_INPUT && e.detail.problem === 'no-peer-id')
    await assert.rejects(makeHost({ bootstrap: ['not a multiaddr'] }), (e: Error & { code?: string }) => e.code === NetErrorCode.BAD_INPUT)
  })

  it('finds and dials peers of the same run over mDNS, and only those', async () => {
    const runId = `mdns-${process.pid}-${Date.now()}`
    const a = track(await makeHost({ runId, mdns: true }))
    const b = track(await makeHost({ runId, mdns: true }))
    const stranger = track(await makeHost({ runId: `${runId}-other`, mdns: true }))
    const fellow = track(await makeHost({ runId: `${runId}-other`, mdns: true }))
    await waitFor(() => a.libp2p.getConnections(b.libp2p.peerId).length > 0, 8000, 'mDNS discovery and dial')
    // the stranger's own discovery works (it finds its run's fellow) and still never dials the others
    await waitFor(() => stranger.libp2p.getConnections(fellow.libp2p.peerId).length > 0, 8000, 'mDNS within the other run')
    assert.equal(a.libp2p.getConnections(stranger.libp2p.peerId).length, 0)
    assert.equal(stranger.libp2p.getConnections(b.libp2p.peerId).length, 0)
  })

  it('rejects a run id that cannot be a topic namespace', async () => {
    await assert.rejects(createTapestryHost({ runId: 'a/b' }), (e: any) => e.code === NetErrorCode.BAD_INPUT)
    await assert.rejects(createTapestryHost({ runId: '' }), (e: any) => e.code === NetErrorCode.BAD_INPUT)
  })
})
