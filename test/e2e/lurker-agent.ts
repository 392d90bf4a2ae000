// A member that is present but never contributes (run by lurker.test.ts): it connects with an
// admitted member key and, for `seconds`, publishes a presence every 500 ms claiming the round and
// model the others announce — the stall of issue 13, where every aggregator waited for it.
import { readFile } from 'node:fs/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { createTapestryHost, publishPresence, subscribePresence } from '../../src/net/index.js'

interface Args { addr: string, runId: string, keyFile: string, seconds: number }
const args = JSON.parse(process.argv[2]) as Args
const host = await createTapestryHost({ runId: args.runId, privateKey: privateKeyFromProtobuf(await readFile(args.keyFile)), listen: ['/ip4/127.0.0.1/tcp/0'] })
let best = { round: -1, modelId: '' }
subscribePresence(host, m => { if (m.round > best.round) best = { round: m.round, modelId: m.modelId } })
await host.dial(args.addr)
const end = Date.now() + args.seconds * 1000
let sent = 0
while (Date.now() < end) {
  if (best.round >= 0) {
    await publishPresence(host, { runId: args.runId, peerId: host.peerId, round: best.round, modelId: best.modelId, capacity: 1, seq: Date.now() })
    sent++
  }
  await new Promise(resolve => setTimeout(resolve, 500))
}
await host.stop()
process.stdout.write(JSON.stringify({ sent }) + '\n')
process.exit(0)
