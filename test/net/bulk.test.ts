// Bulk blob transfer (protocols/blob.md §7) between real hosts on 127.0.0.1: a large range comes
// over a TLS-PSK connection keyed by the request, a ticket works once and only with its key, an
// outsider gets no handshake, an unreachable bulk port falls back to the stream, small ranges
// and relays never use it.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect as tlsConnect } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { connect as tcp, createServer, type AddressInfo } from 'node:net'
import { BULK_CIPHERS, BulkClient, BulkServer, MemoryBlobStore, NetErrorCode, TransferError, bulkKey, fetchBlob, serveBlobs } from '../../src/net/index.js'
import { bytesOf, connect, makeHost, stopAll } from './helpers.js'
import type { BlobServer, TapestryHost } from '../../src/net/index.js'

const MiB = 1024 * 1024

/** A TLS-PSK handshake with this identity and key: resolves with the bytes read, or the error. */
async function tryPsk (port: number, identity: string, key: Uint8Array, expect = Infinity): Promise<{ bytes: number } | { error: string }> {
  return await new Promise(resolve => {
    let bytes = 0
    const sock = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: BULK_CIPHERS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: Buffer.from(key), identity }) })
    // the provider keeps the connection open for further ranges: done once the range is in
    sock.on('data', (d: Buffer) => { bytes += d.byteLength; if (bytes >= expect) { sock.destroy(); resolve({ bytes }) } })
    sock.once('end', () => { sock.destroy(); resolve({ bytes }) })
    sock.once('error', err => { sock.destroy(); resolve({ error: err.message }) })
    // a refused handshake may end in a plain close, without an alert the client reports
    sock.once('close', () => resolve(bytes > 0 ? { bytes } : { error: 'closed' }))
    const t = setTimeout(() => { sock.destroy(); resolve({ error: 'no answer in 5 s' }) }, 5_000)
    sock.once('close', () => clearTimeout(t))
  })
}

describe('bulk transfer', { timeout: 60_000 }, () => {
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
    const right = await tryPsk(bulk.port, Buffer.from(t2).toString('hex'), key2, small.byteLength)
    assert.deepEqual(right, { bytes: small.byteLength })
    const again = await tryPsk(bulk.port, Buffer.from(t2).toString('hex'), key2)
    assert.ok('error' in again, 'a used ticket is refused')
    const outsider = await tryPsk(bulk.port, randomBytes(16).toString('hex'), randomBytes(32))
    assert.ok('error' in outsider)
    // garbage on the port: the server drops it and keeps serving
    await new Promise<void>(resolve => {
      const s = tcp(bulk.port, '127.0.0.1', () => { s.end(randomBytes(4096)) })
      s.on('close', () => resolve())
      s.on('error', () => {})
      // the provider drops it at once or at its handshake deadline; either way the test goes on
      setTimeout(() => { s.destroy(); resolve() }, 12_000).unref()
    })
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

  it('a provider that sends more than asked is refused; one that stops short times out, resumable', async () => {
    const client = new BulkClient()
    const key = bulkKey()
    const ticket = bulk.offer(key, small, 'test')!
    await assert.rejects(client.receive({ ip: '127.0.0.1', port: bulk.port, ticket, key, length: small.byteLength - 10, peer: 'test', signal: AbortSignal.timeout(5000), timeoutMs: 3000, onChunk: () => {} }),
      (err: unknown) => err instanceof TransferError && err.code === NetErrorCode.PROTOCOL)
    const k2 = bulkKey()
    const t2 = bulk.offer(k2, small, 'test')!
    await assert.rejects(client.receive({ ip: '127.0.0.1', port: bulk.port, ticket: t2, key: k2, length: small.byteLength + 10, peer: 'test', signal: AbortSignal.timeout(5000), timeoutMs: 500, onChunk: () => {} }),
      (err: unknown) => err instanceof TransferError && err.code === NetErrorCode.TIMEOUT && err.resumable)
    assert.equal(client.idleConnections, 0, 'a failed connection is not kept')
  })

  it('one connection carries range after range; a ticket of another peer on it is refused', async () => {
    const client = new BulkClient()
    const before = { ...bulk.stats }
    for (let i = 0; i < 3; i++) {
      const got = await fetchBlob(requester, bigCid, [provider.peerId], { maxBytes: 64 * MiB, bulk: { client } })
      assert.ok(Buffer.from(got).equals(Buffer.from(big)))
      assert.equal(client.idleConnections, 1, 'the connection is kept for the next range')
    }
    assert.equal(bulk.stats.transfers - before.transfers, 3)
    assert.equal(bulk.connections, 1, 'the provider saw one connection for the three ranges')
    client.close()
    // after its first range, a connection names a ticket the provider issued to someone else: closed, counted
    const k = bulkKey()
    const mine = bulk.offer(k, small, 'me')!
    const other = bulk.offer(bulkKey(), small, 'someone-else')!
    const refused = bulk.stats.refused
    const sock = tlsConnect({ host: '127.0.0.1', port: bulk.port, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: BULK_CIPHERS, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: Buffer.from(k), identity: Buffer.from(mine).toString('hex') }) })
    let got = 0
    await new Promise<void>(resolve => {
      sock.on('data', (d: Buffer) => { got += d.byteLength; if (got === small.byteLength) sock.write(Buffer.from(other)) })
      sock.once('close', () => resolve())
      sock.on('error', () => {})
    })
    assert.equal(got, small.byteLength, 'its own range came, nothing of the other peer\'s')
    assert.equal(bulk.stats.refused, refused + 1)
  })

  it('a connection the provider closed while idle: the next range opens a new one', async () => {
    const quick = await BulkServer.listen({ listenIp: '127.0.0.1', idleMs: 200 })
    const client = new BulkClient()
    try {
      const recv = async (): Promise<number> => {
        const k = bulkKey()
        const t = quick.offer(k, small, 'me')!
        let n = 0
        await client.receive({ ip: '127.0.0.1', port: quick.port, ticket: t, key: k, length: small.byteLength, peer: 'p', signal: AbortSignal.timeout(5000), timeoutMs: 3000, onChunk: b => { n += b.byteLength } })
        return n
      }
      assert.equal(await recv(), small.byteLength)
      assert.equal(client.idleConnections, 1)
      await new Promise(resolve => setTimeout(resolve, 500))
      assert.equal(client.idleConnections, 0, 'dropped from the pool when the provider closed it')
      assert.equal(await recv(), small.byteLength)
      assert.equal(quick.stats.transfers, 2)
    } finally {
      client.close()
      await quick.close()
    }
  })
})

describe('bulk transfer fallback', { timeout: 60_000 }, () => {
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
