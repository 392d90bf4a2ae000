// A member that withholds and reveals (run by forger.test.ts). It contributes zero updates every
// round; in a round where it is elected aggregator it commits nothing, lets a backup commit, and
// then reveals its own commit of that round: rank 0, the backup's very list of updates (with their
// authors' announce signatures), and an all-zero model, served over sync and blobs and gossiped
// every 2 s. Within a few rounds of a fork the first commits decide, and on rank this one wins.
import { blobCid, encodeCommit, encodeState, republish, subscribeCommit } from '../../src/net/index.js'
import { electionRank, modelBytes, type Commit } from '../../src/round/index.js'
import { commitMembers } from '../../src/round/validate.js'
import { rogueMember, type RogueArgs } from './rogue-member.js'

const args = JSON.parse(process.argv[2]) as RogueArgs
const r = await rogueMember(args)
const report = { announced: 0, withheld: -1, revealed: -1, backupRank: -1, gossiped: 0, error: '' }
const end = r.finish(16_000)
let done = false

/** The backup committed round f: reveal this member's own rank-0 commit of it, with the same updates and a zero model. */
async function reveal (backup: Commit): Promise<void> {
  const layout = await r.layout()
  const f = backup.round
  const poison = new Float32Array(layout.total)
  const forged: Commit = { ...backup, aggregator: r.me, rank: 0, newModelId: blobCid(modelBytes(poison)).toString() }
  const bytes = await encodeCommit(forged, r.key, r.me)
  const state = { round: f + 1, modelId: forged.newModelId, params: poison, outer: { step: 0, velocity: null }, electorate: commitMembers(forged).members }
  r.serve([...await r.realBefore(f), { round: f, bytes }], { round: f, cid: r.store.put(encodeState(state, layout)).toString() })
  report.revealed = f
  report.backupRank = backup.rank
  end.done()
  const timer = setInterval(() => { republish(r.host, 'commit', bytes).then(() => { report.gossiped++ }, () => {}) }, 2000)
  void end.stopped.finally(() => { clearInterval(timer) })
}

subscribeCommit(r.host, (c: Commit) => {
  if (done || c.aggregator === r.me) return
  if (c.round === report.withheld) {
    done = true
    reveal(c).catch(err => { report.error = String(err) })
    return
  }
  // elected aggregator of the next round: withhold (commit nothing), but contribute as usual
  const electorate = commitMembers(c).members
  if (report.withheld < 0 && electorate.some(m => m.peerId === r.me) && electionRank(args.runId, c.round + 1, c.newModelId, electorate)[0] === r.me) report.withheld = c.round + 1
  r.contribute(c.round + 1, c.newModelId).then(() => { report.announced++ }, err => { report.error = String(err) })
})

await end.stopped
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(0)
