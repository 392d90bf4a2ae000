// Gossip wire codec: round trips of the plain round messages, and every refusal by its code.
import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  NetErrorCode, decodeAnnounce, decodeCommit, decodePresence, decodeSigned, encodeAnnounce, encodeCommit,
  encodePresence, encodeSubAggregate, decodeSubAggregate, isNetError, MAX_GOSSIP_BYTES
} from '../../src/net/index.js'
import { seal } from '../../src/net/signed.js'
import { MAX_INCLUDED } from '../../src/net/gossip-codec.js'
import { Signed } from '../../src/net/wire/signed.js'
import { Presence as PresencePb } from '../../src/net/wire/presence.js'
import { RUN, bytesOf, sampleAnnounce, sampleCommit, samplePresence } from './helpers.js'
import type { PrivateKey } from '@libp2p/interface'

async function refusedWith (p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isNetError(e), `not a NetError: ${String(e)}`)
    assert.equal(e.code, code, e.message)
    return true
  })
}

describe('gossip codec', () => {
  let key: PrivateKey
  let me: string
  let other: PrivateKey

  before(async () => {
    key = await generateKeyPair('Ed25519')
    me = peerIdFromPrivateKey(key).toString()
    other = await generateKeyPair('Ed25519')
  })

  it('round-trips presence, announce and commit field for field', async () => {
    const p = samplePresence(me)
    const a = sampleAnnounce(me)
    const c = sampleCommit(me, 7, [me, 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'])
    const vp = await decodePresence(await encodePresence(p, key, me), { runId: RUN })
    const va = await decodeAnnounce(await encodeAnnounce(a, key, me), { runId: RUN })
    const vc = await decodeCommit(await encodeCommit(c, key, me), { runId: RUN })
    // deepEqual over the plain types: a field added to round/messages.ts but not to the wire fails here
    assert.deepEqual(vp.message, p)
    assert.deepEqual(va.message, a)
    assert.deepEqual(vc.message, c)
    assert.equal(vp.from, me)
    assert.equal(vc.from, me)
  })

  it('announce proofs: round-trip in commits, a wrong length refused, and 4096 proven updates fit the commit cap', async () => {
    const signature = bytesOf(64, 9)
    const proven = { ...sampleCommit(me, 7, [me, '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA']) }
    proven.included = proven.included.map((u, i) => ({ ...u, size: 1000 + i, announced: { signature, attempt: i } }))
    assert.deepEqual((await decodeCommit(await encodeCommit(proven, key, me))).message, proven)
    const short = { ...proven, included: [{ ...proven.included[0], announced: { signature: signature.subarray(0, 63), attempt: 0 } }] }
    await refusedWith(encodeCommit(short, key, me), NetErrorCode.BAD_INPUT)
    // the largest commit: every entry with real-length ids and a proof
    const big = { ...proven, included: Array.from({ length: MAX_INCLUDED }, (_, i) => ({ ...proven.included[1], samples: 1_000_000 + i, size: 50_000_000 + i, announced: { signature, attempt: 255 } })) }
    const bytes = await encodeCommit(big, key, me)
    assert.ok(bytes.byteLength <= MAX_GOSSIP_BYTES.commit, `${bytes.byteLength} bytes`)
  })

  it('periodic presences differ by their seq (gossipsub would drop identical bytes), and seq 0 is absent', async () => {
    const p = samplePresence(me)
    const a = await encodePresence({ ...p, seq: 1_795_000_000_000 }, key, me)
    const b = await encodePresence({ ...p, seq: 1_795_000_002_000 }, key, me)
    assert.notDeepEqual(a, b)
    assert.equal((await decodePresence(a)).message.seq, 1_795_000_000_000)
    assert.equal((await decodePresence(await encodePresence(p, key, me))).message.seq, undefined)
  })

  it('a republished announce differs in bytes only by its attempt, and a first publish carries none', async () => {
    const a = sampleAnnounce(me)
    const first = await encodeAnnounce(a, key, me)
    const again = await encodeAnnounce({ ...a, attempt: 2 }, key, me)
    assert.notDeepEqual(first, again, 'gossipsub would drop identical bytes as a duplicate')
    assert.equal((await decodeAnnounce(first)).message.attempt, undefined)
    assert.equal((await decodeAnnounce(again)).message.attempt, 2)
    await refusedWith(encodeAnnounce({ ...a, attempt: 256 }, key, me), NetErrorCode.BAD_INPUT)
  })

  it('round-trips a group fold and a hierarchical commit, and refuses a fold replayed as a commit', async () => {
    const c = sampleCommit(me, 4, [me, me])
    const sub = { runId: RUN, round: 4, group: 2, aggregator: me, rank: 1, baseModelId: c.prevModelId, subAggregateId: c.newModelId, included: c.included, size: 4096 }
    const vs = await decodeSubAggregate(await encodeSubAggregate(sub, key, me), { runId: RUN })
    assert.deepEqual(vs.message, sub)
    const hc = { ...c, aggregateId: c.newModelId, subAggregates: [{ group: 0, subAggregateId: c.newModelId, aggregator: me, rank: 0 }, { group: 2, subAggregateId: c.prevModelId, aggregator: me, rank: 1 }] }
    assert.deepEqual((await decodeCommit(await encodeCommit(hc, key, me))).message, hc)
    await refusedWith(decodeCommit(await encodeSubAggregate(sub, key, me)), NetErrorCode.WRONG_KIND)
    await refusedWith(encodeSubAggregate({ ...sub, subAggregateId: 'not-a-cid' }, key, me), NetErrorCode.BAD_INPUT)
  })

  it('keeps the included order exactly (the fold order)', async () => {
    const c = sampleCommit(me, 1, [me, me, me])
    c.included.reverse()
    const v = await decodeCommit(await encodeCommit(c, key, me))
    assert.deepEqual(v.message.included, c.included)
  })

  it('refuses to sign for another author, and refuses a message naming someone else', async () => {
    const theirs = peerIdFromPrivateKey(other).toString()
    await refusedWith(encodeAnnounce(sampleAnnounce(theirs), key, me), NetErrorCode.PEER_ID_MISMATCH)
    // a forger signs a message naming another peer as author with its own (valid) key
    const forged = await seal(key, 'announce', (await import('../../src/net/wire/announce.js')).Announce.encode({
      version: 1, ...sampleAnnounce(theirs)
    }))
    await refusedWith(decodeAnnounce(forged), NetErrorCode.PEER_ID_MISMATCH)
  })

  it('detects any flipped payload bit as a bad signature', async () => {
    const bytes = await encodePresence(samplePresence(me), key, me)
    const env = Signed.decode(bytes)
    // flip a bit inside the run id ("test-run" → "tdst-run"): still decodes, still canonical, no longer signed
    const payload = env.payload.slice()
    const at = Buffer.from(payload).indexOf('test-run') + 1
    payload[at] ^= 0x01
    const tampered = Signed.encode({ ...env, payload })
    await refusedWith(decodePresence(tampered), NetErrorCode.BAD_SIGNATURE)
    const badSig = Signed.encode({ ...env, signature: env.signature.map((b, i) => i === 0 ? b ^ 1 : b) })
    await refusedWith(decodePresence(badSig), NetErrorCode.BAD_SIGNATURE)
  })

  it('refuses an unknown version', async () => {
    const payload = PresencePb.encode({ version: 2, ...samplePresence(me) })
    await refusedWith(decodePresence(await seal(key, 'presence', payload)), NetErrorCode.UNKNOWN_VERSION)
  })

  it('refuses oversized, truncated and non-protobuf envelopes', async () => {
    await refusedWith(decodePresence(new Uint8Array(MAX_GOSSIP_BYTES.presence + 1)), NetErrorCode.OVERSIZED)
    const bytes = await encodeCommit(sampleCommit(me), key, me)
    await refusedWith(decodeCommit(bytes.subarray(0, bytes.byteLength - 10)), NetErrorCode.TRUNCATED)
    await refusedWith(decodeCommit(new Uint8Array([0xff, 0xff, 0xff])), NetErrorCode.TRUNCATED)
    // an unknown field with the reserved wire type 6 cannot be skipped
    await refusedWith(decodeCommit(new Uint8Array([0x7e, 0x01])), NetErrorCode.MALFORMED)
  })

  it('refuses a message of the wrong kind (an announce replayed as a commit)', async () => {
    const bytes = await encodeAnnounce(sampleAnnounce(me), key, me)
    await refusedWith(decodeCommit(bytes), NetErrorCode.WRONG_KIND)
  })

  it('refuses a message of another run', async () => {
    const bytes = await encodePresence(samplePresence(me), key, me)
    await refusedWith(decodePresence(bytes, { runId: 'other-run' }), NetErrorCode.WRONG_RUN)
  })

  it('refuses a non-canonical encoding (trailing unknown field), even when correctly signed', async () => {
    const payload = PresencePb.encode({ version: 1, ...samplePresence(me) })
    const padded = new Uint8Array([...payload, 0x78, 0x01]) // field 15, varint 1
    await refusedWith(decodePresence(await seal(key, 'presence', padded)), NetErrorCode.NON_CANONICAL)
  })

  it('refuses out-of-domain fields on both sides', async () => {
    await refusedWith(encodePresence({ ...samplePresence(me), capacity: Number.NaN }, key, me), NetErrorCode.BAD_INPUT)
    await refusedWith(encodeAnnounce({ ...sampleAnnounce(me), updateId: 'Qm-not-a-cid' }, key, me), NetErrorCode.BAD_INPUT)
    await refusedWith(encodeAnnounce({ ...sampleAnnounce(me), round: -1 }, key, me), NetErrorCode.BAD_INPUT)
    await refusedWith(encodePresence({ ...samplePresence(me), runId: 'bad/run' }, key, me), NetErrorCode.BAD_INPUT)
    // a receiver applies the same checks to what a hostile signer sent
    const payload = PresencePb.encode({ version: 1, ...samplePresence(me), capacity: -5 })
    await refusedWith(decodePresence(await seal(key, 'presence', payload)), NetErrorCode.MALFORMED)
  })

  it('only ever throws NetErrors on random corruption', async () => {
    const good = await encodeCommit(sampleCommit(me, 2, [me, me]), key, me)
    const noise = bytesOf(4096, 5)
    let accepted = 0
    for (let i = 0; i < 300; i++) {
      const b = good.slice()
      b[noise[i] % b.length] ^= 1 << (noise[i + 1] % 8)
      const cut = i % 3 === 0 ? b.subarray(0, noise[i + 2] % b.length) : b
      try {
        await decodeSigned('commit', cut)
        accepted++
      } catch (err) {
        assert.ok(isNetError(err), `iteration ${i}: ${String(err)}`)
      }
    }
    assert.equal(accepted, 0, 'a corrupted commit was accepted')
  })
})
