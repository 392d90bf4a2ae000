// Bulk blob transfer (protocols/blob.md §7) between real hosts on 127.0.0.1: a large range comes
// over a TLS-PSK connection keyed by the request, a ticket works once and only with its key, an
// outsider gets no handshake, an unreachable bulk port falls back to the stream, small ranges
// and relays never use it.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect as tlsConnect } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { connect as tcp, createServer, type AddressInfo } from 'node:net'
import { BULK_CIPHERS, BulkServer, MemoryBlobStore, NetErrorCode, TransferError, bulkKey, fetchBlob, receiveBulk, serveBlobs } from '../../src/net/index.js'
import { bytesOf, connect, makeHost, stopAll } from './helpers.js'
import type { BlobServer, TapestryHost } from '../../src/net/index.js'

const MiB = 1024 * 1024

/** A TLS-PSK handshake with this identity and key: resolves with the bytes read, or the error. */
async function tryPsk (port: number, identity: string, key: Uint8Array): Promise<{ bytes: number } | { error: string }> {
  return await new Promise(resolve => {
    let bytes = 0
    const sock = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: BULK_CIPHERS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: Buffer.from(key), identity }) })
    sock.on('data', (d: Buffer) => { bytes += d.byteLength })
    sock.once('end', () => { sock.destroy(); resolve({ bytes }) })
    sock.once('error', err => { sock.destroy(); resolve({ error: err.message }) })
  })
}

describe('bulk transfer', () => {
  let provider: TapestryHost
  let requester: TapestryHost
  let bulk: BulkServer
  let server: BlobServer
  const store = new MemoryBlobStore()
  const big = bytesOf(24 * MiB, 7)
  const small = bytesOf(256 * 1024, 8)
  const bigCid = store.put(big)
  const smallCid = store.put(small)

  before(async () => {
    provider = await makeHost()
    requester = await makeHost()
    bulk = await BulkServer.listen({ listenIp: '127.0.0.1' })
    server = await serveBlobs(provider, { store, bulk: { server: bulk } })
    await connect(requester, provider)
  })
  after(async () => {
    await server.stop()
    await bulk.close()
    await stopAll([provider, requester])
  })

  it('a large blob comes over the bulk connection, verified against its CID', async () => {
    const before = { ...bulk.stats }
    const got = await fetchBlob(requester, bigCid, [provider.peerId], { maxBytes: 64 * MiB, bulk: {} })
    assert.deepEqual(Buffer.from(got).equals(Buffer.from(big)), true)
    assert.equal(bulk.stats.transfers - before.transfers, 1, 'one bulk transfer')
    assert.equal(bulk.stats.bytes - before.bytes, big.byteLength)
  })

  it('a blob below the threshold comes over the stream', async () => {
    const before = { ...bulk.stats }
    const got = await fetchBlob(requester, smallCid, [provider.peerId], { maxBytes: 1 * MiB, bulk: {} })
    assert.ok(Buffer.from(got).equals(Buffer.from(small)))
    assert.equal(bulk.stats.transfers, before.transfers, 'a small blob never asks for bulk (maxBytes below the threshold)')
    const again = await fetchBlob(requester, smallCid, [provider.peerId], { maxBytes: 64 * MiB, bulk: {} })
    assert.ok(Buffer.from(again).equals(Buffer.from(small)))
    assert.equal(bulk.stats.transfers, before.transfers, 'the provider sends a range below its minimum over the stream')
  })

  it('without bulk options the stream carries everything', async () => {
    const before = { ...bulk.stats }
    const got = await fetchBlob(requester, bigCid, [provider.peerId], { maxBytes: 64 * MiB })
    assert.ok(Buffer.from(got).equals(Buffer.from(big)))
    assert.equal(bulk.stats.transfers, before.transfers)
  })

  it('a ticket opens once, only with its key; an outsider gets no handshake', async () => {
    const key = bulkKey()
    const ticket = bulk.offer(key, small, 'test')!
    const id = Buffer.from(ticket).toString('hex')
    const wrongKey = await tryPsk(bulk.port, id, randomBytes(32))
    assert.ok('error' in wrongKey, 'a wrong key fails the handshake')
    // the wrong key used the ticket up: even the right key is refused now
    const late = await tryPsk(bulk.port, id, key)
    assert.ok('error' in late, 'a ticket is single-use')
    const key2 = bulkKey()
    const t2 = bulk.offer(key2, small, 'test')!
    const right = await tryPsk(bulk.port, Buffer.from(t2).toString('hex'), key2)
    assert.deepEqual(right, { bytes: small.byteLength })
    const again = await tryPsk(bulk.port, Buffer.from(t2).toString('hex'), key2)
    assert.ok('error' in again, 'a used ticket is refused')
    const outsider = await tryPsk(bulk.port, randomBytes(16).toString('hex'), randomBytes(32))
    assert.ok('error' in outsider)
    // garbage on the port: the server drops it and keeps serving
    await new Promise<void>(resolve => { const s = tcp(bulk.port, '127.0.0.1', () => { s.end(randomBytes(4096)) }); s.on('close', () => resolve()); s.on('error', () => {}) })
    const got = await fetchBlob(requester, bigCid, [provider.peerId], { maxBytes: 64 * MiB, bulk: {} })
    assert.equal(got.byteLength, big.byteLength)
  })

  it('a peer holds at most 4 tickets at once (each pins its range in memory)', async () => {
    const held = [1, 2, 3, 4].map(() => bulk.offer(bulkKey(), small, 'greedy'))
    assert.ok(held.every(t => t != null))
    assert.equal(bulk.offer(bulkKey(), small, 'greedy'), undefined, 'a fifth is refused')
    assert.notEqual(bulk.offer(bulkKey(), small, 'other'), undefined, 'another peer still gets one')
    assert.equal(bulk.offer(new Uint8Array(16), small, 'other'), undefined, 'a key of the wrong size gets none')
  })

  it('receiveBulk: a provider that sends more than asked, or ends short, is refused', async () => {
    const key = bulkKey()
    const ticket = bulk.offer(key, small, 'test')!
    const chunks: number[] = []
    await assert.rejects(receiveBulk({ ip: '127.0.0.1', port: bulk.port, ticket, key, length: small.byteLength - 10, peer: 'p', signal: AbortSignal.timeout(5000), timeoutMs: 3000, onChunk: b => chunks.push(b.byteLength) }),
      (err: unknown) => err instanceof TransferError && err.code === NetErrorCode.PROTOCOL)
    const k2 = bulkKey()
    const t2 = bulk.offer(k2, small, 'test')!
    await assert.rejects(receiveBulk({ ip: '127.0.0.1', port: bulk.port, ticket: t2, key: k2, length: small.byteLength + 10, peer: 'p', signal: AbortSignal.timeout(5000), timeoutMs: 3000, onChunk: () => {} }),
      (err: unknown) => err instanceof TransferError && err.code === NetErrorCode.TRUNCATED && err.resumable)
  })
})

describe('bulk transfer fallback', () => {
  it('an outsider holding every connection slot: the fetch falls back to the stream and completes', async () => {
    const provider = await makeHost()
    const requester = await makeHost()
    const store = new MemoryBlobStore()
    const big = bytesOf(8 * MiB, 10)
    const cid = store.put(big)
    const bulk = await BulkServer.listen({ listenIp: '127.0.0.1', maxConnections: 16, timeoutMs: 30_000 })
    const server = await serveBlobs(provider, { store, bulk: { server: bulk } })
    const flood = Array.from({ length: 16 }, () => tcp(bulk.port, '127.0.0.1'))
    for (const s of flood) s.on('error', () => {})
    try {
      await Promise.all(flood.map(async s => await new Promise(resolve => s.once('connect', resolve))))
      await new Promise(resolve => setTimeout(resolve, 100))
      assert.equal(bulk.connections, 16, 'the outsider holds every slot')
      await connect(requester, provider)
      const unreachable = new Map<string, number>()
      const got = await fetchBlob(requester, cid, [provider.peerId], { maxBytes: 64 * MiB, bulk: { unreachable } })
      assert.ok(Buffer.from(got).equals(Buffer.from(big)))
      assert.equal(bulk.stats.transfers, 0)
      assert.ok(unreachable.has(provider.peerId))
    } finally {
      for (const s of flood) s.destroy()
      await server.stop()
      await bulk.close()
      await stopAll([provider, requester])
    }
  })

  it('an unreachable bulk port: the range comes over the stream, and the port is left alone after', async () => {
    const provider = await makeHost()
    const requester = await makeHost()
    const store = new MemoryBlobStore()
    const big = bytesOf(8 * MiB, 9)
    const cid = store.put(big)
    // requesters are sent to a port nobody listens on: as a firewall in front of the bulk port looks
    const closed = await new Promise<number>(resolve => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)) }) })
    const bulk = await BulkServer.listen({ listenIp: '127.0.0.1', advertisePort: closed })
    const server = await serveBlobs(provider, { store, bulk: { server: bulk } })
    try {
      await connect(requester, provider)
      const unreachable = new Map<string, number>()
      const t0 = Date.now()
      const got = await fetchBlob(requester, cid, [provider.peerId], { maxBytes: 64 * MiB, bulk: { unreachable } })
      assert.ok(Buffer.from(got).equals(Buffer.from(big)))
      assert.ok((unreachable.get(provider.peerId) ?? 0) > Date.now(), 'the provider is remembered as unreachable')
      assert.ok(Date.now() - t0 < 10_000)
      const again = await fetchBlob(requester, cid, [provider.peerId], { maxBytes: 64 * MiB, bulk: { unreachable } })
      assert.ok(Buffer.from(again).equals(Buffer.from(big)))
      assert.equal(bulk.stats.transfers, 0)
    } finally {
      await server.stop()
      await bulk.close()
      await stopAll([provider, requester])
    }
  })
})
