// Real topology, not loopback: four daemons in network namespaces. Two are reachable (public-looking
// addresses on a bridge), two sit each behind its own masquerading NAT that admits no inbound
// connection. The run forms and trains; the NATed pair reach each other only through a relay
// member (circuit relay v2) and exchange updates over it; once one router starts offering UPnP (an
// emulated gateway that maps ports with nftables), that member maps its ports, becomes public and
// the pair's connection goes direct; and when the relay a NATed member depends on dies, the other
// reachable member takes over relaying and it keeps training.
import { test } from 'node:test'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFile, rm } from 'node:fs/promises'
import { LocalCluster } from '../../src/daemon/cluster.js'
import { buildNatTopology, natTopologyUnavailable } from './nat-topology.js'
import type { StoredCommit } from '../../src/daemon/chain-store.js'
import type { StatusView } from '../../src/daemon/control-types.js'

const CONFIG = { innerSteps: 5, threads: 1, deadlineMs: 8_000, collectMs: 3_000, backupStepMs: 3_000, backups: 3, partition: 'iid' }
const unavailable = natTopologyUnavailable()
const GATEWAY = fileURLToPath(new URL('./upnp-gateway.js', import.meta.url))

const chainOf = async (c: LocalCluster, i: number): Promise<Array<StoredCommit['commit']>> => {
  const text = await readFile(join(c.nodes[i].dataDir, 'chain', 'commits.jsonl'), 'utf8').catch(() => '')
  return text.trim() === '' ? [] : text.trim().split('\n').map(l => (JSON.parse(l) as StoredCommit).commit)
}

test('members behind NATs train over a relay, go direct where the NAT allows, and survive the relay\'s death', { skip: unavailable, timeout: 420_000 }, async (t) => {
  const topo = buildNatTopology(['pub1', 'pub2'], ['a', 'b'])
  const names = ['pub1', 'pub2', 'a', 'b']
  const made: { cluster?: LocalCluster } = {}
  t.after(async () => {
    const cl = made.cluster
    await cl?.stopAll()
    topo.close()
    if (cl == null) return
    if (process.env.TAPESTRY_KEEP_TEST_DIR === '1') process.stderr.write(`kept ${cl.dir}\n`)
    else await rm(cl.dir, { recursive: true, force: true })
  })
  const cl = made.cluster = await LocalCluster.create({
    nodes: 4,
    rounds: 0,
    // as in a real manifest (its default is every founding member), a member left on a branch of
    // its own cannot commit alone. With 1, a NATed member whose relay died as a round closed forked,
    // committed the next round alone, was then its own whole electorate, and ran ten solo rounds a
    // second on a branch the others never took
    minMembers: 2,
    config: CONFIG,
    env: { TAPESTRY_TEST_PARTITION: '1' },
    placement: names.map(n => ({ netns: topo.ns[n], ip: topo.ip[n], reachable: n.startsWith('pub') }))
  })
  const [, , A, B] = [0, 1, 2, 3]
  const id = (i: number): string => cl.nodes[i].peerId
  const status = async (i: number): Promise<StatusView | undefined> => { try { return await cl.query(i, 'status') } catch { return undefined } }
  await cl.startAll()

  // 1. the run forms: both NATed members learn they are reached through a relay
  await cl.waitFor('round 1 applied everywhere', async () => (await Promise.all([0, 1, 2, 3].map(async i => await cl.rounds(i)))).every(r => r.some(x => x.round >= 1)), 180_000, 1000)
  for (const i of [A, B]) {
    await cl.waitFor(`node ${i} relayed`, async () => (await status(i))?.reachability.reachability === 'relayed', 60_000, 1000)
  }
  const pub = await status(0)
  assert.equal(pub?.reachability.reachability, 'public', 'a member with a public address is verified public (AutoNAT v2)')
  // the NATed pair's connection runs through a relay, and updates cross it: a commit by one of them includes the other's update
  await cl.waitFor('A reaches B through a relay', async () => (await status(A))?.peers.find(p => p.peerId === id(B))?.path === 'relayed', 60_000, 1000)
  await cl.waitFor('a NATed aggregator folded the other NATed member\'s update', async () => (await chainOf(cl, 0)).some(k =>
    (k.aggregator === id(A) && k.included.some(u => u.peerId === id(B))) || (k.aggregator === id(B) && k.included.some(u => u.peerId === id(A)))), 180_000, 2000)
  const viaRelay = await status(A)
  assert.equal(viaRelay?.peers.find(p => p.peerId === id(B))?.path, 'relayed', 'A and B still reach each other only through the relay')
  t.diagnostic(`A reached through ${viaRelay?.reachability.addresses.relay[0] ?? '?'}`)

  // 2. B's router starts offering UPnP: B maps its ports, is public, and the pair's next connection is direct
  const gateway = spawn('ip', ['netns', 'exec', topo.ns.rb, process.execPath, GATEWAY, topo.routerLanIp.b, topo.routerIp.b], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => { gateway.kill() })
  let mapped = ''
  gateway.stdout.on('data', (d: Buffer) => { mapped += d.toString() })
  await cl.waitFor('B maps its ports on the gateway and is public', async () => (await status(B))?.reachability.reachability === 'public', 90_000, 1000)
  assert.match(mapped, /mapped (tcp|udp) /, 'the mapping went through UPnP')
  t.diagnostic(`gateway: ${mapped.trim().replace(/\n/g, '; ')}; B now at ${(await status(B))?.reachability.addresses.public.join(', ') ?? '?'}`)
  await cl.query(A, 'partition', { peers: [id(B)], ms: 1_000 }) // drops the relayed connection
  await cl.waitFor('A reaches B directly after the relay', async () => (await status(A))?.peers.find(p => p.peerId === id(B))?.path === 'direct-after-relay', 120_000, 1000)

  // 3. the relay A depends on dies (a reachable member; B too, since its UPnP mapping): another takes over, and A keeps training
  const relayOfA = (await status(A))?.reachability.relays[0]
  const dying = [0, 1, B].find(i => id(i) === relayOfA)
  assert.ok(dying != null, `A holds a reservation on a reachable member (relays: ${String(relayOfA)})`)
  const other = dying === 0 ? 1 : 0
  cl.kill(dying)
  await cl.waitExit(dying)
  const killedAt = Date.now()
  t.diagnostic(`killed relay node ${dying}; another reachable member should take over`)
  await cl.waitFor('A reserves on another relay', async () => {
    const relays = (await status(A))?.reachability.relays ?? []
    return relays.length > 0 && !relays.includes(id(dying))
  }, 90_000, 1000)
  try {
    await cl.waitFor('two commits with A\'s update after the relay died', async () => {
      const recent = (await cl.rounds(other)).filter(r => r.at > killedAt)
      const chain = await chainOf(cl, other)
      const withA = chain.filter(k => recent.some(r => r.round === k.round) && k.included.some(u => u.peerId === id(A)))
      return withA.length >= 2
    }, 150_000, 2000)
  } catch (err) {
    // where A and the surviving members stood: their peers, paths and relays, and the last rounds
    const seen = async (i: number): Promise<string> => {
      const s = await status(i)
      const peers = s?.peers.map(p => `${p.peerId.slice(-6)}:${p.connected ? (p.path ?? '?') : 'gone'}@${p.round}`).join(' ') ?? 'no status'
      return `node ${i} round ${s?.round ?? '?'} relays [${s?.reachability.relays.map(r => r.slice(-6)).join(',') ?? ''}] peers ${peers}`
    }
    const lines = await Promise.all([A, B, other].map(seen))
    const last = (await cl.rounds(other)).slice(-5).map(r => `${r.round}:${r.included}`).join(' ')
    throw new Error(`${(err as Error).message}\n${lines.join('\n')}\nnode ${other}'s last rounds (round:included) ${last}`, { cause: err })
  }
})
