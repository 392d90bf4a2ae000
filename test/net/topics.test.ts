// Gossip over real hosts: A — B — C in a line; delivery, forwarding, validation, unsubscribe.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  encodeAnnounce, meshPeers, publishAnnounce, publishCommit, publishPresence, republish,
  subscribeAnnounce, subscribeCommit, subscribePresence, topicSubscribers, GOSSIP_AUTHOR_LIMITS
} from '../../src/net/index.js'
import { seal } from '../../src/net/signed.js'
import { Announce as AnnouncePb } from '../../src/net/wire/announce.js'
import { connect, makeHost, sampleAnnounce, sampleCommit, samplePresence, stopAll, waitFor } from './helpers.js'
import type { Announce, Commit, Presence } from '../../src/round/messages.js'
import type { GossipInfo, TapestryHost } from '../../src/net/index.js'

describe('gossip topics', () => {
  let a: TapestryHost
  let b: TapestryHost
  let c: TapestryHost
  const atC: { presence: Array<[Presence, GossipInfo]>, announce: Array<[Announce, GossipInfo]>, commit: Array<[Commit, GossipInfo]> } = { presence: [], announce: [], commit: [] }
  const atB: Announce[] = []
  const extra: TapestryHost[] = []
  const track = (h: TapestryHost): TapestryHost => { extra.push(h); return h }
  after(async () => { await stopAll(extra) })

  before(async () => {
    ;[a, b, c] = await Promise.all([makeHost(), makeHost(), makeHost()])
    // a line, so C only hears A through B's forwarding
    await connect(a, b)
    await connect(b, c)
    for (const h of [a, b]) {
      subscribePresence(h, () => {})
      subscribeCommit(h, () => {})
    }
    subscribeAnnounce(a, () => {})
    subscribeAnnounce(b, m => { atB.push(m) })
    subscribePresence(c, (m, info) => { atC.presence.push([m, info]) })
    subscribeAnnounce(c, (m, info) => { atC.announce.push([m, info]) })
    subscribeCommit(c, (m, info) => { atC.commit.push([m, info]) })
    await waitFor(() => meshPeers(a, 'announce').includes(b.peerId) && meshPeers(b, 'announce').includes(c.peerId) &&
      meshPeers(b, 'commit').includes(c.peerId) && meshPeers(b, 'presence').includes(c.peerId), 8000, 'meshes')
  })

  after(async () => { await stopAll([a, b, c]) })

  it('delivers verified presence, announce and commit across a relay', async () => {
    const p = samplePresence(a.peerId)
    const an = sampleAnnounce(a.peerId)
    const cm = sampleCommit(a.peerId, 3, [a.peerId, b.peerId])
    const res = await publishPresence(a, p)
    assert.ok(res.recipients >= 1)
    await publishAnnounce(a, an)
    await publishCommit(a, cm)
    await waitFor(() => atC.presence.length > 0 && atC.announce.length > 0 && atC.commit.length > 0, 5000, 'delivery at C')
    assert.deepEqual(atC.presence[0][0], p)
    assert.deepEqual(atC.announce[0][0], an)
    assert.deepEqual(atC.commit[0][0], cm)
    const info = atC.commit[0][1]
    assert.equal(info.from, a.peerId)
    assert.equal(info.propagationSource, b.peerId)
    assert.ok(info.bytes.byteLength > 0)
  })

  it('drops a forged message at the first hop: neither delivered nor forwarded', async () => {
    // a message naming A as author but signed by someone else, injected by B's neighbour A
    const forger = await generateKeyPair('Ed25519')
    const forged = await seal(forger, 'announce', AnnouncePb.encode({ version: 1, ...sampleAnnounce(a.peerId, 99) }))
    const nB = atB.length
    const nC = atC.announce.length
    await republish(a, 'announce', forged)
    // an honest follow-up proves the path works and bounds the wait
    await publishAnnounce(a, sampleAnnounce(a.peerId, 100))
    await waitFor(() => atC.announce.some(([m]) => m.round === 100), 5000, 'follow-up')
    assert.ok(!atB.slice(nB).some(m => m.round === 99))
    assert.ok(!atC.announce.slice(nC).some(([m]) => m.round === 99))
  })

  it('lets an app validator ignore or reject after the signature checks', async () => {
    const seen: number[] = []
    const stop = subscribeAnnounce(c, m => { seen.push(m.round) }, { validate: m => m.round === 201 ? 'ignore' : 'accept' })
    await publishAnnounce(a, sampleAnnounce(a.peerId, 201))
    await publishAnnounce(a, sampleAnnounce(a.peerId, 202))
    await waitFor(() => seen.includes(202), 5000, 'round 202')
    assert.ok(!seen.includes(201))
    stop()
  })

  it('gives each message to every handler, and stops after unsubscribe', async () => {
    const first: number[] = []
    const second: number[] = []
    const stop1 = subscribeAnnounce(c, m => { first.push(m.round) })
    const stop2 = subscribeAnnounce(c, m => { second.push(m.round) })
    await publishAnnounce(a, sampleAnnounce(a.peerId, 300))
    await waitFor(() => first.includes(300) && second.includes(300), 5000, 'both handlers')
    stop1()
    await publishAnnounce(a, sampleAnnounce(a.peerId, 301))
    await waitFor(() => second.includes(301), 5000, 'second handler')
    assert.ok(!first.includes(301))
    stop2()
  })

  it('deduplicates the same signed envelope republished by another peer', async () => {
    const before = atC.commit.length
    const { bytes } = await publishCommit(a, sampleCommit(a.peerId, 400))
    await waitFor(() => atC.commit.length === before + 1, 5000, 'commit 400')
    await republish(b, 'commit', bytes)
    await publishCommit(a, sampleCommit(a.peerId, 401))
    await waitFor(() => atC.commit.some(([m]) => m.round === 401), 5000, 'commit 401')
    assert.equal(atC.commit.filter(([m]) => m.round === 400).length, 1)
  })

  it('refuses to publish a message for another author', async () => {
    const key = await generateKeyPair('Ed25519')
    await assert.rejects(publishAnnounce(a, sampleAnnounce(peerIdFromPrivateKey(key).toString())), (e: any) => e.code === 'ERR_NET_PEER_ID_MISMATCH')
    // the encoded form is available without a host too
    const bytes = await encodeAnnounce(sampleAnnounce(a.peerId), a.privateKey, a.peerId)
    assert.ok(bytes.byteLength < 512)
    assert.ok(topicSubscribers(b, 'announce').includes(c.peerId))
  })

  it('messages the membership gate rejects cost their relayer: its score falls below the gossip threshold, then to graylisted', async () => {
    const outsider = track(await makeHost())
    const member = track(await makeHost({ gossipGate: (_kind, _msg, from) => from === outsider.peerId ? 'reject' : 'accept' }))
    const seen: Presence[] = []
    subscribePresence(member, m => { seen.push(m) })
    subscribePresence(outsider, () => {})
    await connect(outsider, member)
    await waitFor(() => topicSubscribers(outsider, 'presence').includes(member.peerId), 5000, 'subscription')
    for (let i = 0; i < 6; i++) {
      await publishPresence(outsider, { ...samplePresence(outsider.peerId), seq: i })
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    await waitFor(() => member.pubsub.getScore(outsider.peerId) <= -80, 5000, 'graylisting')
    assert.equal(seen.length, 0)
    assert.ok(member.refused.gossip >= 4)
  })

  it('a flood of valid messages from one author stops at its budget: the rest is dropped, not handed on', async () => {
    const flooder = track(await makeHost())
    const member = track(await makeHost())
    const seen: Presence[] = []
    subscribePresence(member, m => { seen.push(m) })
    subscribePresence(flooder, () => {})
    await connect(flooder, member)
    await waitFor(() => topicSubscribers(flooder, 'presence').includes(member.peerId), 5000, 'subscription')
    const sent = 150
    for (let i = 0; i < sent; i++) await publishPresence(flooder, { ...samplePresence(flooder.peerId), seq: i + 1 })
    await waitFor(() => member.refused.gossipRate + seen.length >= sent, 10_000, 'every copy validated')
    assert.equal(seen.length, GOSSIP_AUTHOR_LIMITS.presence.count, 'exactly the budget reached the handler')
    assert.equal(member.refused.gossipRate, sent - GOSSIP_AUTHOR_LIMITS.presence.count)
  })
})
