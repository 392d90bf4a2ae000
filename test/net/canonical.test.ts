// One message, one byte form; one blob, one id: every other encoding that decodes to the same
// thing is refused with ERR_NET_NON_CANONICAL, even when correctly signed (protocols/gossip.md §
// "Canonical encoding"). The bytes are built by hand so each case is exactly one deviation.
import { describe, it, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { base58btc } from 'multiformats/bases/base58'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { NetErrorCode, decodeAnnounce, decodeCommit, decodePresence, encodeAnnounce, encodePresence, isNetError, parseBlobCid, decodeBlobCid, isBlobCidString, blobCid } from '../../src/net/index.js'
import { seal } from '../../src/net/signed.js'
import { Signed } from '../../src/net/wire/signed.js'
import { Announce as AnnouncePb } from '../../src/net/wire/announce.js'
import { Presence as PresencePb } from '../../src/net/wire/presence.js'
import { CID_A, CID_B, RUN, sampleAnnounce, sampleCommit, samplePresence } from './helpers.js'
import type { PrivateKey } from '@libp2p/interface'

async function refusedWith (p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isNetError(e), `not a NetError: ${String(e)}`)
    assert.equal(e.code, code, e.message)
    return true
  })
}

const thrownCode = (fn: () => unknown): string | undefined => {
  try { fn() } catch (e) { return (e as { code?: string }).code }
  return undefined
}

// protobuf by hand: tags, varints (optionally padded to `width` bytes), length-delimited fields
const varint = (n: number, width = 0): number[] => {
  const out: number[] = []
  do {
    out.push(n % 128)
    n = Math.floor(n / 128)
  } while (n > 0)
  while (out.length < width) out.push(0)
  return out.map((b, i) => i < out.length - 1 ? b | 0x80 : b)
}
const tag = (field: number, wireType: number): number[] => varint(field * 8 + wireType)
const lenField = (field: number, bytes: Uint8Array | string, lenWidth = 0): number[] => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes
  return [...tag(field, 2), ...varint(b.length, lenWidth), ...b]
}
const varintField = (field: number, n: number, width = 0): number[] => [...tag(field, 0), ...varint(n, width)]
const doubleField = (field: number, x: number): number[] => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(x)
  return [...tag(field, 1), ...b]
}
const zigzag = (n: number): number => n >= 0 ? 2 * n : -2 * n - 1

describe('canonical encodings', () => {
  let key: PrivateKey
  let me: string

  before(async () => {
    key = await generateKeyPair('Ed25519')
    me = peerIdFromPrivateKey(key).toString()
  })

  /** Presence fields in field order, as protons writes them (round 3, no seq). */
  const presenceFields = (): number[][] => {
    const p = samplePresence(me)
    return [varintField(1, 1), lenField(2, p.runId), lenField(3, p.peerId), varintField(4, zigzag(3)), lenField(5, p.modelId), doubleField(6, p.capacity)]
  }
  const signedPresence = async (fields: number[][]): Promise<Uint8Array> => await seal(key, 'presence', new Uint8Array(fields.flat()))

  it('the hand-built canonical presence is what the encoder writes, and it is accepted', async () => {
    const canonical = new Uint8Array(presenceFields().flat())
    assert.deepEqual(canonical, PresencePb.encode({ version: 1, ...samplePresence(me), round: 3, seq: 0 }))
    assert.equal((await decodePresence(await signedPresence(presenceFields()), { runId: RUN })).message.round, 3)
  })

  it('refuses an inner message with an unknown field, a repeated field, fields out of order', async () => {
    const f = presenceFields()
    await refusedWith(decodePresence(await signedPresence([...f, varintField(99, 1)])), NetErrorCode.NON_CANONICAL)
    await refusedWith(decodePresence(await signedPresence([...f.slice(0, 2), f[1], ...f.slice(2)])), NetErrorCode.NON_CANONICAL)
    await refusedWith(decodePresence(await signedPresence([f[0], f[2], f[1], ...f.slice(3)])), NetErrorCode.NON_CANONICAL)
  })

  it('refuses an explicit default (seq = 0 written out) and a non-minimal varint', async () => {
    const f = presenceFields()
    await refusedWith(decodePresence(await signedPresence([...f, varintField(7, 0)])), NetErrorCode.NON_CANONICAL)
    // round 3 as a 3-byte varint, and a string length as a 2-byte varint
    await refusedWith(decodePresence(await signedPresence([f[0], f[1], f[2], varintField(4, zigzag(3), 3), ...f.slice(4)])), NetErrorCode.NON_CANONICAL)
    await refusedWith(decodePresence(await signedPresence([f[0], lenField(2, RUN, 2), ...f.slice(2)])), NetErrorCode.NON_CANONICAL)
    // -0 capacity decodes to a number equal to 0, which the encoder leaves out
    await refusedWith(decodePresence(await signedPresence([...f.slice(0, 5), doubleField(6, -0)])), NetErrorCode.NON_CANONICAL)
  })

  it('refuses an envelope with an unknown field, a padded length, fields out of order or repeated, a long varint', async () => {
    const good = await encodePresence(samplePresence(me), key, me)
    await decodePresence(good)
    await refusedWith(decodePresence(new Uint8Array([...good, ...varintField(9, 1)])), NetErrorCode.NON_CANONICAL)
    // the same four fields, written by hand
    const env = Signed.decode(good)
    const kind = varintField(1, 1) // PRESENCE
    const payload = lenField(2, env.payload)
    const publicKey = lenField(3, env.publicKey)
    const signature = lenField(4, env.signature)
    assert.deepEqual(new Uint8Array([kind, payload, publicKey, signature].flat()), good, 'written by hand as the encoder does')
    await refusedWith(decodePresence(new Uint8Array([kind, lenField(2, env.payload, 3), publicKey, signature].flat())), NetErrorCode.NON_CANONICAL)
    await refusedWith(decodePresence(new Uint8Array([kind, publicKey, payload, signature].flat())), NetErrorCode.NON_CANONICAL)
    await refusedWith(decodePresence(new Uint8Array([kind, payload, publicKey, signature, signature].flat())), NetErrorCode.NON_CANONICAL)
    await refusedWith(decodePresence(new Uint8Array([varintField(1, 1, 2), payload, publicKey, signature].flat())), NetErrorCode.NON_CANONICAL)
  })

  it('refuses update and model ids that are not spelled CIDv1 base32 lowercase, even when signed', async () => {
    const a = sampleAnnounce(me)
    const cid = CID.parse(CID_B)
    const spellings = { upper: CID_B.toUpperCase(), base58: cid.toString(base58btc), base36: cid.toString(base36) }
    for (const [how, s] of Object.entries(spellings)) {
      for (const field of ['updateId', 'baseModelId'] as const) {
        const forged = await seal(key, 'announce', AnnouncePb.encode({ version: 1, ...a, attempt: 0, [field]: s }))
        await refusedWith(decodeAnnounce(forged), NetErrorCode.NON_CANONICAL).catch(err => { throw new Error(`${how} ${field}: ${String(err)}`) })
        // and a node does not send one
        await refusedWith(encodeAnnounce({ ...a, [field]: s }, key, me), NetErrorCode.BAD_INPUT)
      }
    }
    // a CIDv0 is no blob id at all
    const v0 = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
    await refusedWith(decodeAnnounce(await seal(key, 'announce', AnnouncePb.encode({ version: 1, ...a, attempt: 0, updateId: v0 }))), NetErrorCode.MALFORMED)
  })

  it('refuses a commit whose new model id is spelled otherwise', async () => {
    const { Commit: CommitPb } = await import('../../src/net/wire/commit.js')
    const c = sampleCommit(me)
    const payload = CommitPb.encode({ version: 1, ...c, newModelId: CID.parse(CID_A).toString(base58btc), subAggregates: [], excluded: [], equivocations: [], included: sampleCommit(me).included.map(u => ({ ...u, size: 0, announceSignature: new Uint8Array(0), announceAttempt: 0 })) })
    await refusedWith(decodeCommit(await seal(key, 'commit', payload)), NetErrorCode.NON_CANONICAL)
  })

  it('CID strings: one spelling accepted; others NON_CANONICAL, CIDv0 and junk BAD_CID', () => {
    const cid = blobCid(new Uint8Array([1, 2, 3]))
    const s = cid.toString()
    assert.equal(parseBlobCid(s).toString(), s)
    assert.equal(isBlobCidString(s), true)
    assert.equal(thrownCode(() => parseBlobCid(s.toUpperCase())), NetErrorCode.NON_CANONICAL)
    assert.equal(thrownCode(() => parseBlobCid(cid.toString(base58btc))), NetErrorCode.NON_CANONICAL)
    assert.equal(thrownCode(() => parseBlobCid(cid.toString(base36))), NetErrorCode.NON_CANONICAL)
    assert.equal(isBlobCidString(cid.toString(base58btc)), false)
    assert.equal(thrownCode(() => parseBlobCid('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')), NetErrorCode.BAD_CID)
    // the last base32 character carries 3 bits of the CID and 2 of padding, which must be zero
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
    assert.equal(thrownCode(() => parseBlobCid(s.slice(0, -1) + alphabet[alphabet.indexOf(s.at(-1)!) ^ 1])), NetErrorCode.BAD_CID, 'non-zero padding bits')
    assert.equal(thrownCode(() => parseBlobCid('not a cid')), NetErrorCode.BAD_CID)
  })

  it('CID bytes: the minimal form accepted; a padded varint or trailing bytes refused', () => {
    const cid = blobCid(new Uint8Array([4, 5, 6]))
    assert.equal(decodeBlobCid(cid.bytes).toString(), cid.toString())
    // version 1 and the raw codec written as two-byte varints: multiformats refuses them already
    // (decodeBlobCid also compares with the minimal bytes, should that ever change)
    assert.equal(thrownCode(() => decodeBlobCid(new Uint8Array([0x81, 0x00, ...cid.bytes.subarray(1)]))), NetErrorCode.BAD_CID)
    assert.equal(thrownCode(() => decodeBlobCid(new Uint8Array([0x01, 0xd5, 0x00, ...cid.bytes.subarray(2)]))), NetErrorCode.BAD_CID)
    assert.equal(thrownCode(() => decodeBlobCid(new Uint8Array([...cid.bytes, 0]))), NetErrorCode.BAD_CID)
  })
})
