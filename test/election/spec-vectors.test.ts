// The worked example of protocols/election.md, checked against the code so the spec cannot drift:
// the exact bytes hashed, each peer's digest and ticket, and the unweighted and weighted rankings.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { digestTicket, ELECTION_DOMAIN, rankMembers, rendezvousDigest, ticketToUnit, weightedScore } from '../../src/election/index.js'
import { blobCid } from '../../src/net/cid.js'

const SEED = { runId: 'spec-run', round: 7, prevModelId: 'bafkreibar3shgqpzy4swsc6oqxm4b3i6yy3zzugwjgmnkmwnwb32vf2lkq' }
const P = {
  a: '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
  b: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N',
  c: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
  d: '12D3KooWJWEKvSFbben74C2eNPuqHYKpCsMa2zQWmtpBisqtnuXn'
}

test('election.md §5: the previous model id of the example is the CID of "tapestry"', () => {
  assert.equal(blobCid(new TextEncoder().encode('tapestry')).toString(), SEED.prevModelId)
})

test('election.md §5: the hashed bytes of peer a, and its digest', () => {
  const preimage =
    '00000014' + Buffer.from(ELECTION_DOMAIN).toString('hex') +
    '00000008' + Buffer.from('spec-run').toString('hex') +
    '0000000000000007' +
    '0000003b' + Buffer.from(SEED.prevModelId).toString('hex') +
    '00000034' + Buffer.from(P.a).toString('hex')
  assert.equal(ELECTION_DOMAIN, 'tapestry/election/v1')
  const digest = '3b7c51796a4816230fe416ee64231cc6aae4f799ff498bcb3b32139839426ce4'
  assert.equal(createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex'), digest)
  assert.equal(rendezvousDigest(SEED, P.a).toString('hex'), digest)
})

test('election.md §5: digests, tickets, units and unit-capacity scores', () => {
  const rows: Array<[string, string, number, number, number]> = [
    [P.a, '3b7c51796a4816230fe416ee64231cc6aae4f799ff498bcb3b32139839426ce4', 1046482062320769, 0.23236569608914726, 0.6851929726914671],
    [P.b, '6afe767d0f74fbd28a69c3f22a2ee4c98dd60ff583ea269a980ba30f57bb7139', 1882258274318159, 0.41794529488784693, 1.1462569691980495],
    [P.c, '00aba7fe468429cb0921137cc66e6265fc1cc33f348ab7107d8211c38cea0c3f', 11796125870146, 0.0026192661084826208, 0.16821250845197933],
    [P.d, 'b4387e4bb50dc490262dbbdeda1b9f4e9e2da0c986939b3b775a778f6251c23c', 3170475680944348, 0.7039870199997075, 2.849040507518954]
  ]
  for (const [peer, digest, ticket, unit, score] of rows) {
    const d = rendezvousDigest(SEED, peer)
    assert.equal(d.toString('hex'), digest, peer)
    assert.equal(digestTicket(d), ticket, peer)
    // the ticket is the digest's first 52 bits: its first 13 hex digits
    assert.equal(ticket, parseInt(digest.slice(0, 13), 16), peer)
    assert.equal(ticketToUnit(ticket), unit, peer)
    assert.equal(weightedScore(ticket, 1), score, peer)
  }
})

test('election.md §5: equal capacities rank by ticket; capacity 8 for c moves it to backup 1', () => {
  const plain = rankMembers(SEED, [P.a, P.b, P.c, P.d].map(peerId => ({ peerId })))
  assert.deepEqual(plain.map(r => r.peerId), [P.d, P.b, P.a, P.c])
  const weighted = rankMembers(SEED, [P.a, P.b, P.c, P.d].map(peerId => ({ peerId, capacity: peerId === P.c ? 8 : 1 })))
  assert.deepEqual(weighted.map(r => r.peerId), [P.d, P.c, P.b, P.a])
  assert.deepEqual(weighted.map(r => r.score), [2.849040507518954, 1.3457000676158346, 1.1462569691980495, 0.6851929726914671])
})
