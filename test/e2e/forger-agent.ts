// A member turned forger (run by forger.test.ts). It contributes zero updates until a commit includes
// it (so it is in the electorate), then forges a branch from the next round: `forged` commits it
// signs as the candidate of its own rank, each listing every member (the others with made-up
// update ids and the signatures copied from their last real announces), and a state whose model is
// all zeros. It serves that branch over sync and blobs, and gossips one of its commits (of a round
// the others passed with another commit) every 2 s, so every member checks the fork. It prints JSON.
import { randomBytes } from 'node:crypto'
import { blobCid, encodeCommit, encodeState, republish, signProof, subscribeCommit } from '../../src/net/index.js'
import { electionRank, modelBytes, type Commit, type IncludedUpdate } from '../../src/round/index.js'
import { commitMembers } from '../../src/round/validate.js'
import { rogueMember, type RogueArgs } from './rogue-member.js'

const args = JSON.parse(process.argv[2]) as RogueArgs & { forged: number }
const r = await rogueMember(args)
const report = { announced: 0, includedAt: -1, forkRound: -1, forged: 0, gossiped: 0, error: '' }
const end = r.finish(24_000)
const randomCid = (): string => blobCid(randomBytes(32)).toString()
let forging = false

/** The forged branch from the round after `c` (a commit that includes this member), its state, and the real chain before it. */
async function forge (c: Commit): Promise<void> {
  const layout = await r.layout()
  const f = c.round + 1
  const electorate = commitMembers(c).members
  const real = new Map(c.included.map(u => [u.peerId, u]))
  const poison = new Float32Array(layout.total)
  const forged: Array<{ round: number, bytes: Uint8Array }> = []
  let prev = c.newModelId
  let last: Commit | undefined
  for (let i = 0; i < args.forged; i++) {
    const round = f + i
    const rank = electionRank(args.runId, round, prev, electorate).indexOf(r.me)
    const included: IncludedUpdate[] = []
    for (const m of electorate) {
      const u: IncludedUpdate = { updateId: randomCid(), peerId: m.peerId, samples: real.get(m.peerId)?.samples ?? 1, capacity: m.capacity, size: 1000 }
      if (m.peerId === r.me) u.announced = await signProof(r.key, { runId: args.runId, round, peerId: r.me, updateId: u.updateId, baseModelId: prev, samples: u.samples, codec: args.codec, size: 1000, capacity: u.capacity })
      else if (real.get(m.peerId)?.announced != null) u.announced = real.get(m.peerId)!.announced
      included.push(u)
    }
    included.sort((a, b) => a.updateId < b.updateId ? -1 : 1)
    const newModelId = i === args.forged - 1 ? blobCid(modelBytes(poison)).toString() : randomCid()
    last = { runId: args.runId, round, aggregator: r.me, rank, prevModelId: prev, included, newModelId, aggregateId: '' }
    forged.push({ round, bytes: await encodeCommit(last, r.key, r.me) })
    prev = newModelId
  }
  const state = { round: f + args.forged, modelId: prev, params: poison, outer: { step: 0, velocity: null }, electorate: commitMembers(last!).members }
  r.serve([...await r.realBefore(f), ...forged], { round: f + args.forged - 1, cid: r.store.put(encodeState(state, layout)).toString() })
  report.forkRound = f
  report.forged = forged.length
  end.done()
  // the others pass these rounds with their own commits; each forged one shows them the fork (a
  // different one each time: gossipsub drops a message it has seen, however often it is sent)
  let next = 0
  const timer = setInterval(() => { republish(r.host, 'commit', forged[next++ % forged.length].bytes).then(() => { report.gossiped++ }, () => {}) }, 2000)
  void end.stopped.finally(() => { clearInterval(timer) })
}

subscribeCommit(r.host, (c: Commit) => {
  if (forging || c.aggregator === r.me) return
  if (c.included.some(u => u.peerId === r.me)) {
    forging = true
    report.includedAt = c.round
    forge(c).catch(err => { report.error = String(err) })
    return
  }
  r.contribute(c.round + 1, c.newModelId).then(() => { report.announced++ }, err => { report.error = String(err) })
})

await end.stopped
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(0)
