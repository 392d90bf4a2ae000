// /tapestry/blob/1.0.0 between real hosts on 127.0.0.1: transfer, lies, resume, caps, not-found.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import {
  blobProtocol, FetchError, MemoryBlobStore, NetErrorCode, blobCid, fetchBlob, serveBlobs
} from '../../src/net/index.js'
import { StreamReader, lengthPrefixed, sendChunked } from '../../src/net/frame.js'
import { BlobRequest, BlobResponse } from '../../src/net/wire/blob.js'
import { RUN, bytesOf, connect, makeHost, stopAll, waitFor } from './helpers.js'
import type { BlobServer, BlobServerOptions, BlobStore, TapestryHost } from '../../src/net/index.js'
import type { Stream } from '@libp2p/interface'

const MiB = 1024 * 1024

/** Assert `p` rejects with a FetchError of `code`; returns it for further checks. */
async function rejectsWith (p: Promise<unknown>, code: string): Promise<FetchError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof FetchError, `expected FetchError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected rejection with ${code}`)
}

/** A provider that answers OK with an honest header, then sends only `cut` bytes and closes. */
async function serveTruncated (host: TapestryHost, blob: Uint8Array, cut: number): Promise<void> {
  await host.libp2p.handle(blobProtocol(host.runId), async (stream: Stream) => {
    const reader = new StreamReader(stream)
    await reader.readFrame(256)
    reader.release()
    stream.send(lengthPrefixed(BlobResponse.encode({ version: 1, status: BlobResponse.Status.OK, totalSize: blob.byteLength, length: blob.byteLength })))
    await sendChunked(stream, blob.subarray(0, cut), 64 * 1024)
    await stream.close()
  })
}

/** A provider that answers OK, sends `cut` bytes, then goes silent with the stream open. */
async function serveStalling (host: TapestryHost, blob: Uint8Array, cut: number): Promise<void> {
  await host.libp2p.handle(blobProtocol(host.runId), async (stream: Stream) => {
    const reader = new StreamReader(stream)
    await reader.readFrame(256)
    reader.release()
    stream.send(lengthPrefixed(BlobResponse.encode({ version: 1, status: BlobResponse.Status.OK, totalSize: blob.byteLength, length: blob.byteLength })))
    await sendChunked(stream, blob.subarray(0, cut), 64 * 1024)
  })
}

/** A provider that answers OK and then trickles one byte every `everyMs` (issue 13's 1 byte / 4 s attack, sped up). */
async function serveTrickle (host: TapestryHost, blob: Uint8Array, everyMs: number): Promise<void> {
  await host.libp2p.handle(blobProtocol(host.runId), async (stream: Stream) => {
    const reader = new StreamReader(stream)
    await reader.readFrame(256)
    reader.release()
    stream.send(lengthPrefixed(BlobResponse.encode({ version: 1, status: BlobResponse.Status.OK, totalSize: blob.byteLength, length: blob.byteLength })))
    for (let i = 0; i < blob.byteLength && stream.status === 'open'; i++) {
      stream.send(blob.subarray(i, i + 1))
      await new Promise(resolve => setTimeout(resolve, everyMs))
    }
  })
}

/** A provider that ignores the requester's cap and announces `total` bytes. */
async function serveHugeHeader (host: TapestryHost, total: number): Promise<void> {
  await host.libp2p.handle(blobProtocol(host.runId), async (stream: Stream) => {
    const reader = new StreamReader(stream)
    await reader.readFrame(256)
    reader.release()
    stream.send(lengthPrefixed(BlobResponse.encode({ version: 1, status: BlobResponse.Status.OK, totalSize: total, length: total })))
    await stream.close()
  })
}

describe('blob protocol', () => {
  const blob = bytesOf(8 * MiB, 7)
  const cid = blobCid(blob)
  let client: TapestryHost
  let honest: TapestryHost
  let honest2: TapestryHost
  let liar: TapestryHost
  let cutter: TapestryHost
  let huge: TapestryHost
  let empty: TapestryHost
  let honestServer: BlobServer
  let honest2Server: BlobServer

  before(async () => {
    ;[client, honest, honest2, liar, cutter, huge, empty] = await Promise.all(Array.from({ length: 7 }, async () => await makeHost()))
    const store = new MemoryBlobStore()
    store.put(blob)
    honestServer = await serveBlobs(honest, { store })
    honest2Server = await serveBlobs(honest2, { store })
    // the liar's store returns other bytes under the right CID
    const lying: BlobStore = {
      has: () => true,
      size: () => blob.byteLength,
      get: () => bytesOf(blob.byteLength, 99),
      put: (b) => blobCid(b)
    }
    await serveBlobs(liar, { store: lying })
    await serveTruncated(cutter, blob, 3 * MiB + 12345)
    await serveHugeHeader(huge, 1024 * 1024 * 1024 * 1024)
    await serveBlobs(empty, { store: new MemoryBlobStore() })
    for (const h of [honest, honest2, liar, cutter, huge, empty]) await connect(client, h)
  })

  after(async () => { await stopAll([client, honest, honest2, liar, cutter, huge, empty]) })

  /** A fresh provider serving its own store with `opts`, connected to the client, stopped after `fn`. */
  async function withProvider (opts: Partial<BlobServerOptions>, fn: (provider: TapestryHost, store: MemoryBlobStore) => Promise<void>): Promise<void> {
    const provider = await makeHost()
    try {
      const store = new MemoryBlobStore()
      await serveBlobs(provider, { store, ...opts })
      await connect(client, provider)
      await fn(provider, store)
    } finally {
      await provider.stop()
    }
  }

  it('fetches 8 MiB intact from one provider', async () => {
    const t0 = performance.now()
    const got = await fetchBlob(client, cid, [honest.libp2p.peerId], { maxBytes: 16 * MiB, timeoutMs: 20_000 })
    const ms = performance.now() - t0
    assert.equal(got.byteLength, blob.byteLength)
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    client.log?.info({ ms })
  })

  it('opens the receive window before the request, so the provider need not ramp up', async () => {
    // the provider's view of its send window when the request arrives (yamux internals: if this
    // breaks after a yamux upgrade, fetchBlob's openReceiveWindow no longer works)
    const provider = await makeHost()
    const seen: number[] = []
    try {
      await provider.libp2p.handle(blobProtocol(provider.runId), async (stream: Stream) => {
        const reader = new StreamReader(stream)
        await reader.readFrame(256)
        reader.release()
        seen.push(Number((stream as unknown as { sendWindowCapacity: unknown }).sendWindowCapacity))
        stream.send(lengthPrefixed(BlobResponse.encode({ version: 1, status: BlobResponse.Status.NOT_FOUND, totalSize: 0, length: 0 })))
        await stream.close()
      })
      await connect(client, provider)
      await rejectsWith(fetchBlob(client, cid, [provider.peerId], { maxBytes: 8 * MiB }), NetErrorCode.NOT_FOUND)
      await rejectsWith(fetchBlob(client, cid, [provider.peerId], { maxBytes: 1024 }), NetErrorCode.NOT_FOUND)
      assert.equal(seen.length, 2)
      assert.ok(seen[0] >= 8 * MiB, `send window ${seen[0]} when the request arrived`)
      // a small cap asks for no more (yamux itself grows it a little on the negotiation frames)
      assert.ok(seen[1] <= 2 * MiB, `send window ${seen[1]} for a 1 KiB cap`)
    } finally {
      await provider.stop()
    }
  })

  it('accepts the CID as a string and fetches an empty blob', async () => {
    const store = new MemoryBlobStore()
    const c = store.put(new Uint8Array(0))
    const h = await makeHost()
    try {
      await serveBlobs(h, { store })
      await connect(client, h)
      const got = await fetchBlob(client, c.toString(), [h.peerId], { maxBytes: 10 })
      assert.equal(got.byteLength, 0)
    } finally {
      await h.stop()
    }
  })

  it('rejects a provider whose bytes do not hash to the CID', async () => {
    const err = await rejectsWith(fetchBlob(client, cid, [liar.peerId], { maxBytes: 16 * MiB }), NetErrorCode.HASH_MISMATCH)
    assert.deepEqual(err.failures.map(f => f.peer), [liar.peerId])
  })

  it('drops a lying provider and starts over with the next one', async () => {
    const got = await fetchBlob(client, cid, [liar.peerId, honest.peerId], { maxBytes: 16 * MiB })
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
  })

  it('resumes from the received offset when a provider truncates the stream', async () => {
    const before = honestServer.bytesServed
    const seen: Array<{ peer: string, received: number }> = []
    const got = await fetchBlob(client, cid, [cutter.peerId, honest.peerId], {
      maxBytes: 16 * MiB,
      onProgress: p => { if (seen.at(-1)?.peer !== p.peer) seen.push({ peer: p.peer, received: p.received }) }
    })
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    // the second provider only sent what was missing
    assert.equal(honestServer.bytesServed - before, blob.byteLength - (3 * MiB + 12345))
    assert.deepEqual(seen.map(s => s.peer), [cutter.peerId, honest.peerId])
  })

  it('resumes on the next provider when the first one dies mid-transfer', async () => {
    const victim = await makeHost()
    const store = new MemoryBlobStore()
    store.put(blob)
    const victimServer = await serveBlobs(victim, { store, chunkSize: 64 * 1024 })
    await connect(client, victim)
    const before = honest2Server.bytesServed
    let killed: Promise<void> | undefined
    const got = await fetchBlob(client, cid, [victim.peerId, honest2.peerId], {
      maxBytes: 16 * MiB,
      stallTimeoutMs: 5000,
      onProgress: p => {
        if (killed == null && p.peer === victim.peerId && p.received >= 2 * MiB) killed = victim.stop()
      }
    })
    await killed
    assert.ok(killed != null, 'victim was never killed')
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    const fromSecond = honest2Server.bytesServed - before
    assert.ok(fromSecond < blob.byteLength && fromSecond > 0, `second provider sent ${fromSecond} bytes`)
    assert.ok(victimServer.bytesServed <= blob.byteLength)
  })

  it('drops a provider that stalls and resumes on the next', async () => {
    const staller = await makeHost()
    try {
      await serveStalling(staller, blob, MiB)
      await connect(client, staller)
      const err = await rejectsWith(fetchBlob(client, cid, [staller.peerId], { maxBytes: 16 * MiB, stallTimeoutMs: 1500 }), NetErrorCode.TIMEOUT)
      assert.equal(err.failures[0].peer, staller.peerId)
      const before = honestServer.bytesServed
      const got = await fetchBlob(client, cid, [staller.peerId, honest.peerId], { maxBytes: 16 * MiB, stallTimeoutMs: 1500 })
      assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
      assert.equal(honestServer.bytesServed - before, blob.byteLength - MiB)
    } finally {
      await staller.stop()
    }
  })

  it('drops a provider that trickles below the rate floor (never stalling) and resumes on the next', async () => {
    const trickler = await makeHost()
    try {
      await serveTrickle(trickler, blob, 100)
      await connect(client, trickler)
      const t0 = Date.now()
      const err = await rejectsWith(fetchBlob(client, cid, [trickler.peerId], { maxBytes: 16 * MiB, stallTimeoutMs: 5_000, rateWindowMs: 800 }), NetErrorCode.TIMEOUT)
      assert.match(err.failures[0].message, /below the floor/)
      assert.ok(Date.now() - t0 < 4_000, `dropped after ${Date.now() - t0} ms, not at a total timeout`)
      const got = await fetchBlob(client, cid, [trickler.peerId, honest.peerId], { maxBytes: 16 * MiB, stallTimeoutMs: 5_000, rateWindowMs: 800 })
      assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    } finally {
      await trickler.stop()
    }
  })

  it('parallel: splits a large blob into ranges across providers', async () => {
    const before = [honestServer.bytesServed, honest2Server.bytesServed]
    const peers = new Set<string>()
    const got = await fetchBlob(client, cid, [honest.peerId, honest2.peerId], {
      maxBytes: 16 * MiB, parallel: 2, segmentBytes: MiB, onProgress: p => peers.add(p.peer)
    })
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    const served = [honestServer.bytesServed - before[0], honest2Server.bytesServed - before[1]]
    assert.equal(served[0] + served[1], blob.byteLength, `each byte sent once: ${served.join(' + ')}`)
    assert.ok(served.every(n => n >= MiB), `both providers served ranges: ${served.join(', ')}`)
    assert.deepEqual([...peers].sort(), [honest.peerId, honest2.peerId].sort())
  })

  it('parallel: a provider that dies mid-range hands the rest of its range to the others', async () => {
    const victim = await makeHost()
    const store = new MemoryBlobStore()
    store.put(blob)
    await serveBlobs(victim, { store, chunkSize: 64 * 1024 })
    await connect(client, victim)
    let killed: Promise<void> | undefined
    const got = await fetchBlob(client, cid, [victim.peerId, honest.peerId, honest2.peerId], {
      maxBytes: 16 * MiB, parallel: 3, segmentBytes: MiB, stallTimeoutMs: 5000,
      onProgress: p => { if (killed == null && p.peer === victim.peerId && p.received >= 3 * MiB) killed = victim.stop() }
    })
    await killed
    assert.ok(killed != null, 'victim was never killed')
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
  })

  it('parallel: a provider that cannot serve ranges, or has nothing, is dropped', async () => {
    // the cutter answers every request with the whole blob's header (a range mismatch), empty has nothing
    const got = await fetchBlob(client, cid, [cutter.peerId, empty.peerId, honest.peerId], { maxBytes: 16 * MiB, parallel: 3, segmentBytes: MiB })
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    const err = await rejectsWith(fetchBlob(client, cid, [cutter.peerId, empty.peerId], { maxBytes: 16 * MiB, parallel: 2, segmentBytes: MiB }), NetErrorCode.ALL_PROVIDERS_FAILED)
    assert.deepEqual(new Set(err.failures.map(f => f.code)), new Set([NetErrorCode.PROTOCOL, NetErrorCode.NOT_FOUND]))
  })

  it('parallel: bytes that do not hash to the CID start over one provider at a time, which drops the liar', async () => {
    const got = await fetchBlob(client, cid, [liar.peerId, honest.peerId], { maxBytes: 16 * MiB, parallel: 2, segmentBytes: MiB })
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    const err = await rejectsWith(fetchBlob(client, cid, [liar.peerId, liar.peerId], { maxBytes: 16 * MiB, parallel: 2, segmentBytes: MiB }), NetErrorCode.HASH_MISMATCH)
    assert.ok(err.failures.length >= 2)
  })

  it('parallel: a blob within one segment takes one request; bad settings are refused', async () => {
    const before = [honestServer.bytesServed, honest2Server.bytesServed]
    const got = await fetchBlob(client, cid, [honest.peerId, honest2.peerId], { maxBytes: 16 * MiB, parallel: 2, segmentBytes: 16 * MiB })
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)))
    assert.deepEqual([honestServer.bytesServed - before[0], honest2Server.bytesServed - before[1]], [blob.byteLength, 0])
    await assert.rejects(fetchBlob(client, cid, [honest.peerId], { maxBytes: 16 * MiB, parallel: 0 }), (e: Error & { code?: string }) => e.code === NetErrorCode.BAD_INPUT)
    await assert.rejects(fetchBlob(client, cid, [honest.peerId], { maxBytes: 16 * MiB, segmentBytes: 0.5 }), (e: Error & { code?: string }) => e.code === NetErrorCode.BAD_INPUT)
  })

  it('reports a provider at its transfer limit as busy', async () => {
    const busy = await makeHost()
    try {
      const store = new MemoryBlobStore()
      store.put(blob)
      await serveBlobs(busy, { store, maxConcurrentTransfers: 0 })
      await connect(client, busy)
      await rejectsWith(fetchBlob(client, cid, [busy.peerId], { maxBytes: 16 * MiB }), NetErrorCode.BUSY)
    } finally {
      await busy.stop()
    }
  })

  it('refuses a blob above the cap: the provider declines, nothing is allocated', async () => {
    const err = await rejectsWith(fetchBlob(client, cid, [honest.peerId], { maxBytes: MiB }), NetErrorCode.OVERSIZED)
    assert.equal(err.failures[0].peer, honest.peerId)
  })

  it('refuses a header announcing more than the cap before allocating', async () => {
    // 1 TiB announced: allocating it would throw RangeError, so OVERSIZED proves the check came first
    await rejectsWith(fetchBlob(client, cid, [huge.peerId], { maxBytes: 16 * MiB }), NetErrorCode.OVERSIZED)
  })

  it('reports an unknown CID as not found', async () => {
    const other = blobCid(bytesOf(100, 3))
    const err = await rejectsWith(fetchBlob(client, other, [honest.peerId, empty.peerId], { maxBytes: MiB }), NetErrorCode.NOT_FOUND)
    assert.equal(err.failures.length, 2)
  })

  it('mixes failure codes into ALL_PROVIDERS_FAILED, one entry per provider', async () => {
    const err = await rejectsWith(fetchBlob(client, cid, [empty.peerId, liar.peerId], { maxBytes: 16 * MiB }), NetErrorCode.ALL_PROVIDERS_FAILED)
    assert.deepEqual(err.failures.map(f => f.code), [NetErrorCode.NOT_FOUND, NetErrorCode.HASH_MISMATCH])
  })

  it('fails fast with no providers, and on a caller abort', async () => {
    await rejectsWith(fetchBlob(client, cid, [], { maxBytes: 16 * MiB }), NetErrorCode.NO_PROVIDERS)
    const ac = new AbortController()
    const p = fetchBlob(client, cid, [honest.peerId], { maxBytes: 16 * MiB, signal: ac.signal, onProgress: () => ac.abort() })
    await rejectsWith(p, NetErrorCode.ABORTED)
  })

  it('keeps a stream open between requests: later fetches from a provider skip the negotiation', async () => {
    await withProvider({}, async (provider, store) => {
      const small = [bytesOf(1000, 11), bytesOf(2000, 12), bytesOf(3000, 13)]
      const cids = small.map(b => store.put(b))
      for (let i = 0; i < 3; i++) {
        const got = await fetchBlob(client, cids[i], [provider.peerId], { maxBytes: MiB })
        assert.ok(Buffer.from(got).equals(Buffer.from(small[i])))
      }
      const blobStreamsAt = (h: TapestryHost): number => h.libp2p.getConnections().flatMap(c => c.streams).filter(s => s.protocol === blobProtocol(h.runId)).length
      assert.equal(blobStreamsAt(provider), 1, 'three fetches in a row ride on one stream')
      // fetches at once need a stream each; the requester keeps two per provider idle
      await Promise.all(cids.map(async c => await fetchBlob(client, c, [provider.peerId], { maxBytes: MiB })))
      await waitFor(() => blobStreamsAt(provider) === 2, 5000, 'the third stream to end')
    })
  })

  it('a provider ends a stream idle past its limit; the requester drops it and opens a new one', async () => {
    await withProvider({ idleTimeoutMs: 200 }, async (provider, store) => {
      const small = bytesOf(5000, 21)
      const c = store.put(small)
      await fetchBlob(client, c, [provider.peerId], { maxBytes: MiB })
      await waitFor(() => !client.libp2p.getConnections(provider.libp2p.peerId).some(conn => conn.streams.some(s => s.protocol === blobProtocol(RUN))), 5000, 'the idle stream to go')
      const got = await fetchBlob(client, c, [provider.peerId], { maxBytes: MiB })
      assert.ok(Buffer.from(got).equals(Buffer.from(small)))
    })
  })

  it('a response still on its way when the provider\'s idle limit passes arrives whole', async () => {
    // the provider's idle clock starts once the last bytes are handed to the stream, not once
    // they are read: ending the stream must not cut them off (a reset did)
    await withProvider({ idleTimeoutMs: 1 }, async (provider, store) => {
      // fetches at once keep the provider's streams busy past its 1 ms idle limit, request after request
      const small = [1000, 70_000, 300_000].map((n, i) => bytesOf(n, 40 + i))
      const cids = small.map(b => store.put(b))
      for (let round = 0; round < 20; round++) {
        const got = await Promise.all(Array.from({ length: 6 }, async (_, i) => await fetchBlob(client, cids[i % 3], [provider.peerId], { maxBytes: MiB })))
        got.forEach((g, i) => assert.ok(Buffer.from(g).equals(Buffer.from(small[i % 3]))))
      }
    })
  })

  it('a kept stream the provider ends without answering: the request goes again on a new stream', async () => {
    // the race the idle limits make rare: the provider ends a stream as the next request goes out
    const provider = await makeHost()
    const small = bytesOf(4000, 31)
    const c = blobCid(small)
    let streams = 0
    try {
      await provider.libp2p.handle(blobProtocol(provider.runId), async (stream: Stream) => {
        streams++
        const reader = new StreamReader(stream)
        await reader.readFrame(256)
        stream.send(lengthPrefixed(BlobResponse.encode({ version: 1, status: BlobResponse.Status.OK, totalSize: small.byteLength, length: small.byteLength })))
        stream.send(small)
        // the second request on this stream gets no answer: the stream ends under it
        await reader.readFrame(256)
        reader.release()
        await stream.close()
      })
      await connect(client, provider)
      await fetchBlob(client, c, [provider.peerId], { maxBytes: MiB })
      const got = await fetchBlob(client, c, [provider.peerId], { maxBytes: MiB })
      assert.ok(Buffer.from(got).equals(Buffer.from(small)))
      assert.equal(streams, 2)
    } finally {
      await provider.stop()
    }
  })

  it('cuts off a requester that stops reading, so it cannot hold a transfer slot', async () => {
    const provider = await makeHost()
    try {
      const store = new MemoryBlobStore()
      store.put(blob)
      const server = await serveBlobs(provider, { store, maxConcurrentTransfers: 1, sendStallMs: 300 })
      await connect(client, provider)
      const stream = await client.libp2p.dialProtocol(provider.libp2p.peerId, blobProtocol(RUN))
      // paused: yamux grants no more window, so the provider can send no more than its first window
      stream.pause()
      stream.send(lengthPrefixed(BlobRequest.encode({ version: 1, cid: cid.bytes, offset: 0, length: 0, maxSize: 16 * MiB })))
      await waitFor(() => server.active === 1, 5000, 'the transfer to start')
      await waitFor(() => server.active === 0, 5000, 'the stalled transfer to be cut off')
      // the provider's reset crosses the connection after its slot is free
      await waitFor(() => stream.status !== 'open', 5000, 'the requester\'s stream to be reset')
      const got = await fetchBlob(client, cid, [provider.peerId], { maxBytes: 16 * MiB })
      assert.ok(Buffer.from(got).equals(Buffer.from(blob)), 'the slot is free for the next requester')
    } finally {
      await provider.stop()
    }
  })

  it('answers a requester that closes after its request, then ends the stream (one request per stream)', async () => {
    const stream = await client.libp2p.dialProtocol(honest.libp2p.peerId, blobProtocol(RUN))
    const reader = new StreamReader(stream)
    stream.send(lengthPrefixed(BlobRequest.encode({ version: 1, cid: cid.bytes, offset: 8 * MiB - 10, length: 0, maxSize: 16 * MiB })))
    await stream.close()
    const header = BlobResponse.decode(await reader.readFrame(64))
    assert.equal(header.status, BlobResponse.Status.OK)
    assert.equal(header.length, 10)
    let got = 0
    for (let c = await reader.readChunk(); c !== undefined; c = await reader.readChunk()) got += c.byteLength
    assert.equal(got, 10, 'the bytes, then the end of the stream')
    reader.release()
  })

  it('refuses a malformed CID string with ERR_NET_BAD_CID', async () => {
    await assert.rejects(fetchBlob(client, 'not-a-cid', [honest.peerId], { maxBytes: 1 }), (e: any) => e.code === NetErrorCode.BAD_CID)
  })
})
