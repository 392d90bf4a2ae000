// A member that forges a long branch listing every member loses fork choice once builders are
// counted by their own announce signatures (protocols/sync.md §7, gossip.md §3), with real keys.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { proofHolds, signProof } from '../../src/net/announce-proof.js'
import { decideFork, type Commit, type IncludedUpdate } from '../../src/round/index.js'
import type { PrivateKey } from '@libp2p/interface'

const RUN = 'fork-proofs'
const CODEC = 'topk:0.03+q4'

interface Member { key: PrivateKey, id: string }

/** `peer`'s update of `round` on `base`, as its announce names it, with its own signature of that announce. */
async function signedEntry (m: Member, round: number, base: string): Promise<IncludedUpdate> {
  const u: IncludedUpdate = { updateId: `update-${m.id.slice(-6)}-${round}-${base}`, peerId: m.id, samples: 10, capacity: 1, size: 100 }
  const announce = { runId: RUN, round, peerId: m.id, updateId: u.updateId, baseModelId: base, samples: 10, codec: CODEC, size: 100, capacity: 1 }
  return { ...u, announced: await signProof(m.key, announce) }
}

/** A branch from round `from` on model `base`: each commit includes `entries(round, prev)`. */
async function branch (from: number, rounds: number, tag: string, author: string, entries: (round: number, prev: string) => Promise<IncludedUpdate[]>): Promise<Commit[]> {
  const out: Commit[] = []
  for (let i = 0; i < rounds; i++) {
    const prev = i === 0 ? 'base' : `${tag}${i}`
    out.push({ runId: RUN, round: from + i, aggregator: author, rank: 0, prevModelId: prev, newModelId: `${tag}${i + 1}`, aggregateId: '', included: await entries(from + i, prev) })
  }
  return out
}

test('a forger listing every member in a longer branch wins by what commits list, and loses by what their signatures show', async () => {
  const members: Member[] = []
  for (let i = 0; i < 5; i++) {
    const key = await generateKeyPair('Ed25519')
    members.push({ key, id: peerIdFromPrivateKey(key).toString() })
  }
  const [forger, ...honest] = [members[4], ...members.slice(0, 4)]
  const electorate = members.map(m => ({ peerId: m.id, capacity: 1 }))
  // the run: the four honest members, 12 rounds, each update signed by its author on the run's models
  const run = await branch(30, 12, 'run', honest[0].id, async (round, prev) => await Promise.all(honest.map(async m => await signedEntry(m, round, prev))))
  // the forger's 40 rounds on models it made up: its own update signed; the others' with signatures
  // it copied from the run's commits (theirs, but of other announces), or none
  const copied = run.slice(1).flatMap(c => c.included)
  const forged = await branch(30, 40, 'forged', forger.id, async (round, prev) => [
    await signedEntry(forger, round, prev),
    ...honest.map((m, i) => {
      const theirs = copied.find(u => u.peerId === m.id)!
      const u: IncludedUpdate = { updateId: `update-${m.id.slice(-6)}-${round}-${prev}`, peerId: m.id, samples: 10, capacity: 1, size: 100 }
      return i % 2 === 0 ? { ...u, announced: theirs.announced } : u
    })
  ])

  let checks = 0
  const proven = (c: Commit, u: IncludedUpdate): boolean => {
    checks++
    return proofHolds({ runId: c.runId, round: c.round, baseModelId: c.prevModelId }, u, CODEC)
  }
  assert.deepEqual(decideFork(run, forged, electorate), { theirs: true, rule: 'builders', values: { mine: 4, theirs: 5 } }, 'counted by what commits list, the forged branch wins')
  assert.deepEqual(decideFork(run, forged, electorate, proven), { theirs: false, rule: 'builders', values: { mine: 4, theirs: 1 } }, 'counted by signatures, the run keeps its branch')
  assert.deepEqual(decideFork(forged, run, electorate, proven), { theirs: true, rule: 'builders', values: { mine: 1, theirs: 4 } }, 'and the forger\'s own node would move to it')
  // a liar costs a few checks per member, however long its branch: 3 failed tries each, then it counts as not built
  checks = 0
  decideFork(run, forged, electorate, proven)
  assert.ok(checks <= 4 + 1 + 4 * 3, `${checks} signature checks`)
})
