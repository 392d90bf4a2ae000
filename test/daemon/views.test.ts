// The control API's views against a fake source.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { roleOf, peerTable, statusView, modelView, type ViewSource } from '../../src/daemon/views.js'

function source (over: Partial<ViewSource> = {}): ViewSource {
  return {
    peerId: 'me', runId: 'run', runName: 'test run', waiting: null, refused: { connections: 0, gossip: 0, streams: 0, gossipRate: 0 }, device: 'cpu',
    addrs: () => ['/ip4/127.0.0.1/tcp/1/p2p/me'],
    connections: () => [{ peerId: 'a', addr: '/ip4/127.0.0.1/tcp/2' }],
    reachability: () => ({ reachability: 'private', addresses: { relay: [], public: [], private: [], loopback: ['/ip4/127.0.0.1/tcp/1/p2p/me'] }, connections: { direct: 1, relayed: 0, 'direct-after-relay': 0 }, peers: { a: 'direct' }, upgrades: 0, relays: [], relayingFor: 0, upnp: false }),
    round: 3, modelId: 'm3', candidates: ['a', 'me', 'b', 'c'], banned: [], opsPort: null, backups: 2,
    groupRole: () => null,
    peers: new Map([['b', { peerId: 'b', round: 2, lastSeen: 1, latencyMs: 12 }]]),
    history: [],
    modelRef: { round: 2, cid: 'bafy' },
    params: 10, layout: 'w:10',
    bytes: { gossip: 5, fetched: 7, served: 11 },
    bulk: null,
    privacy: null,
    ...over
  }
}

test('roles: aggregator, backups, members, and the group role in hierarchical mode', () => {
  const s = source()
  assert.equal(roleOf(s, 'a'), 'aggregator')
  assert.equal(roleOf(s, 'me'), 'backup 1')
  assert.equal(roleOf(s, 'b'), 'backup 2')
  assert.equal(roleOf(s, 'c'), 'member')
  const h = source({ groupRole: p => p === 'c' ? { group: 1, rank: 0 } : { group: 0, rank: 3 } })
  assert.equal(roleOf(h, 'c'), 'member, group 1 sub-aggregator')
  assert.equal(roleOf(h, 'b'), 'backup 2, group 0')
})

test('the peer table joins connections and presence, without this node', () => {
  const rows = peerTable(source())
  assert.deepEqual(rows.map(r => [r.peerId, r.connected, r.round, r.latencyMs, r.addrs.length, r.path]).sort(), [['a', true, -1, null, 1, 'direct'], ['b', false, 2, 12, 0, null]])
})

test('status and model views', () => {
  const st = statusView(source())
  assert.equal(st.aggregator, 'a')
  assert.equal(st.role, 'backup 1')
  assert.deepEqual(st.bytes, { sent: 16, fetched: 7, gossip: 5, served: 11 })
  assert.equal(st.lastRound, null)
  assert.deepEqual(modelView(source()), { cid: 'bafy', round: 2, modelId: 'm3', params: 10, layout: 'w:10' })
  assert.equal(statusView(source({ candidates: [] })).aggregator, null)
})
