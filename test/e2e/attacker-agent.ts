// A member turned attacker (run by attacks.test.ts): it joins with an admitted key and, for
// `seconds`, (1) re-announces every honest update id as its own, once with inflated weights and
// once with the roster's; (2) signs two different commits for every round it sees committed;
// (3) floods valid presences. It trains nothing. It prints what it sent.
import { readFile } from 'node:fs/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { createTapestryHost, publishAnnounce, publishCommit, publishPresence, subscribeAnnounce, subscribeCommit, subscribePresence } from '../../src/net/index.js'
import type { Announce, Commit } from '../../src/round/index.js'

interface Args { addr: string, runId: string, keyFile: string, seconds: number }
const args = JSON.parse(process.argv[2]) as Args
const host = await createTapestryHost({ runId: args.runId, privateKey: privateKeyFromProtobuf(await readFile(args.keyFile)), listen: ['/ip4/127.0.0.1/tcp/0'] })
const sent = { stolen: 0, inflated: 0, equivocations: 0, presences: 0 }
const seenRounds = new Set<number>()
let best = { round: -1, modelId: '' }
subscribePresence(host, m => { if (m.round > best.round) best = { round: m.round, modelId: m.modelId } })
subscribeAnnounce(host, (a: Announce) => {
  if (a.peerId === host.peerId || a.attempt !== undefined) return
  const mine = { ...a, peerId: host.peerId }
  publishAnnounce(host, { ...mine, samples: 2 ** 53 - 1, capacity: 1e9 }).then(() => { sent.inflated++ }, () => {})
  publishAnnounce(host, { ...mine, samples: 1, capacity: 1, attempt: 1 }).then(() => { sent.stolen++ }, () => {})
})
subscribeCommit(host, (c: Commit) => {
  if (c.aggregator === host.peerId || seenRounds.has(c.round)) return
  seenRounds.add(c.round)
  // two commits for one round, each crediting only the attacker: whoever sees both holds proof
  const forged = (modelId: string): Commit => ({ ...c, aggregator: host.peerId, rank: 0, newModelId: modelId, excluded: undefined, included: [{ updateId: c.included[0].updateId, peerId: host.peerId, samples: 1, capacity: 1 }] })
  void (async () => {
    await publishCommit(host, forged(c.newModelId))
    await publishCommit(host, forged(c.prevModelId))
    sent.equivocations++
  })().catch(() => {})
})
await host.dial(args.addr)
const end = Date.now() + args.seconds * 1000
let seq = 1
while (Date.now() < end) {
  if (best.round >= 0) {
    for (let i = 0; i < 50; i++) {
      await publishPresence(host, { runId: args.runId, peerId: host.peerId, round: best.round, modelId: best.modelId, capacity: 1, seq: seq++ }).catch(() => {})
      sent.presences++
    }
  }
  await new Promise(resolve => setTimeout(resolve, 100))
}
await host.stop()
process.stdout.write(JSON.stringify(sent) + '\n')
process.exit(0)
