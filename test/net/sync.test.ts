// /tapestry/sync/1.0.0: chain pages, verification of served commits, catch-up with the model blob.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  MemoryBlobStore, NetErrorCode, TransferError, catchUp, encodeCommit, requestChain, serveBlobs, serveSync
} from '../../src/net/index.js'
import { seal } from '../../src/net/signed.js'
import { Commit as CommitPb } from '../../src/net/wire/commit.js'
import { bytesOf, connect, makeHost, sampleCommit, stopAll } from './helpers.js'
import type { ModelRef, TapestryHost } from '../../src/net/index.js'

describe('sync protocol', () => {
  let server: TapestryHost
  let joiner: TapestryHost
  let forger: TapestryHost
  let empty: TapestryHost
  const chain: Uint8Array[] = []
  const model = bytesOf(300_000, 11)
  let modelRef: ModelRef

  before(async () => {
    ;[server, joiner, forger, empty] = await Promise.all([makeHost(), makeHost(), makeHost(), makeHost()])
    // a chain of 40 rounds signed by two alternating aggregators
    const keys = [server.privateKey, await generateKeyPair('Ed25519')]
    for (let r = 0; r < 40; r++) {
      const key = keys[r % 2]
      const id = peerIdFromPrivateKey(key).toString()
      chain.push(await encodeCommit(sampleCommit(id, r), key, id))
    }
    const store = new MemoryBlobStore()
    modelRef = { round: 39, cid: store.put(model).toString() }
    await serveBlobs(server, { store })
    await serveSync(server, {
      getChain: (from, limit) => chain.slice(from, from + limit),
      getModel: () => modelRef,
      maxCommits: 16
    })
    // the forger serves a chain whose third commit is re-signed by a key that is not its author
    const bad = chain.slice(0, 5)
    const stranger = await generateKeyPair('Ed25519')
    bad[2] = await seal(stranger, 'commit', CommitPb.encode({ version: 1, ...sampleCommit(server.peerId, 2), excluded: [], equivocations: [], included: sampleCommit(server.peerId, 2).included.map(u => ({ ...u, size: 0, announceSignature: new Uint8Array(0), announceAttempt: 0 })) }))
    await serveSync(forger, { getChain: from => bad.slice(from), getModel: () => undefined })
    await serveSync(empty, { getChain: () => { throw new Error('no chain yet') }, getModel: () => undefined })
    for (const h of [server, forger, empty]) await connect(joiner, h)
  })

  const extra: TapestryHost[] = []
  const track = (h: TapestryHost): TapestryHost => { extra.push(h); return h }
  after(async () => { await stopAll([server, joiner, forger, empty, ...extra]) })

  it('serves one capped page of verified commits plus the model ref', async () => {
    const page = await requestChain(joiner, server.peerId, { fromRound: 10, maxCommits: 100 })
    assert.equal(page.commits.length, 16) // the server's cap wins
    assert.equal(page.more, true)
    assert.deepEqual(page.commits.map(c => c.message.round), Array.from({ length: 16 }, (_, i) => 10 + i))
    assert.deepEqual(page.model, modelRef)
    // served bytes are the signed originals: storable and forwardable as they are
    assert.ok(Buffer.from(page.commits[0].bytes).equals(Buffer.from(chain[10])))
  })

  it('honours a smaller requester cap and reports the end of the chain', async () => {
    const page = await requestChain(joiner, server.peerId, { fromRound: 36, maxCommits: 3 })
    assert.deepEqual(page.commits.map(c => c.message.round), [36, 37, 38])
    assert.equal(page.more, true)
    const last = await requestChain(joiner, server.peerId, { fromRound: 38, maxCommits: 10 })
    assert.deepEqual(last.commits.map(c => c.message.round), [38, 39])
    assert.equal(last.more, false)
  })

  it('catches up: every page of the chain, then the model over the blob protocol', async () => {
    const res = await catchUp(joiner, [server.peerId], { fromRound: 5, maxModelBytes: 1 << 20 })
    assert.deepEqual(res.commits.map(c => c.message.round), Array.from({ length: 35 }, (_, i) => 5 + i))
    assert.equal(res.more, false)
    assert.deepEqual(res.model, modelRef)
    assert.ok(res.modelBytes != null && Buffer.from(res.modelBytes).equals(Buffer.from(model)))
  })

  it('refuses a served chain with a commit its named author did not sign', async () => {
    await assert.rejects(requestChain(joiner, forger.peerId, { fromRound: 0 }), (e: unknown) => {
      assert.ok(e instanceof TransferError)
      assert.equal(e.code, NetErrorCode.PEER_ID_MISMATCH)
      assert.equal(e.peer, forger.peerId)
      return true
    })
  })

  it('moves on to the next peer when one cannot serve, and reports unavailable', async () => {
    await assert.rejects(requestChain(joiner, empty.peerId, { fromRound: 0 }), (e: any) => e.code === NetErrorCode.UNAVAILABLE)
    const res = await catchUp(joiner, [empty.peerId, server.peerId], { fromRound: 38, maxModelBytes: 1 << 20, skipModel: true })
    assert.equal(res.peer, server.peerId)
    assert.deepEqual(res.commits.map(c => c.message.round), [38, 39])
    assert.equal(res.modelBytes, undefined)
  })

  it('refuses a model larger than the caller allows', async () => {
    await assert.rejects(catchUp(joiner, [server.peerId], { fromRound: 39, maxModelBytes: 1000 }), (e: any) => e.code === NetErrorCode.OVERSIZED)
  })

  it('answers a peer over its request budget UNAVAILABLE, and serves it again once the window passed', async () => {
    const limited = track(await makeHost())
    await serveSync(limited, { getChain: (from, limit) => chain.slice(from, from + limit), getModel: () => modelRef, perPeer: { count: 3, windowMs: 1_000 } })
    await connect(joiner, limited)
    for (let i = 0; i < 3; i++) assert.equal((await requestChain(joiner, limited.peerId, { fromRound: 0, maxCommits: 1 })).commits.length, 1)
    await assert.rejects(requestChain(joiner, limited.peerId, { fromRound: 0, maxCommits: 1 }), (e: any) => e.code === NetErrorCode.UNAVAILABLE)
    await new Promise(resolve => setTimeout(resolve, 1_100))
    assert.equal((await requestChain(joiner, limited.peerId, { fromRound: 0, maxCommits: 1 })).commits.length, 1)
  })
})
