import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_SIM_CONFIG, applySetting, validateSimConfig, type SimConfig } from '../../src/sim/config.js'
import { Simulation, type SimResult } from '../../src/sim/sim.js'
import { SyntheticBackend } from '../../src/sim/backend.js'
import { ATTACK_KINDS, CLAIMED_CAPACITY, CLAIMED_SAMPLES, chooseAttackers, parseAttack, type AttackKind } from '../../src/sim/attack.js'
import { SimError, SimErrorCode } from '../../src/sim/errors.js'
import { CompressError, CompressErrorCode, decodeUpdate } from '../../src/compress/index.js'
import { toRoundConfig, type Announce, type Commit } from '../../src/round/index.js'
import { validateAnnounce } from '../../src/round/validate.js'

const base: SimConfig = { ...DEFAULT_SIM_CONFIG, nodes: 10, rounds: 3, innerSteps: 5, synthetic: true, syntheticParams: 2000, baselines: false, deadlineMs: 4000, collectMs: 2000, mode: 'aggregator' }

interface Sent { node: number, msg: Announce, bytes: Uint8Array | undefined }

/** A run with `attack`, every announce and commit as it went on the wire. */
async function attacked (attack: AttackKind, over: Partial<SimConfig> = {}): Promise<{ cfg: SimConfig, backend: SyntheticBackend, result: SimResult, announces: Sent[], commits: Commit[], attackers: Map<string, AttackKind> }> {
  const cfg = validateSimConfig({ ...base, attack: [attack], ...over })
  const backend = new SyntheticBackend(cfg.syntheticParams, cfg.seed)
  const announces: Sent[] = []
  const commits: Commit[] = []
  const result = await new Simulation(cfg, backend, undefined, {
    published: (node, out, blobOf) => {
      if (out.type === 'announce') announces.push({ node, msg: out.msg, bytes: blobOf(out.msg.updateId) })
      else if (out.type === 'commit') commits.push(out.msg)
    }
  }).run()
  return { cfg, backend, result, announces, commits, attackers: new Map(result.attackers.map(a => [a.peerId, a.kind])) }
}

/** What an honest node publishes in round 0: θ0 − trained (the synthetic backend is deterministic). */
async function honestDelta (backend: SyntheticBackend, node: number, steps: number): Promise<Float32Array> {
  const theta0 = backend.initialParams()
  const trained = (await backend.train(node, 0, theta0, steps)).params
  return theta0.map((x, i) => x - trained[i])
}

test('attack specs: none, all, kinds joined by + (or a config list); anything else is ERR_SIM_ATTACK', () => {
  assert.deepEqual(parseAttack('none'), [])
  assert.deepEqual(parseAttack('all'), [...ATTACK_KINDS])
  assert.deepEqual(parseAttack('signflip+censor'), ['signflip', 'censor'])
  assert.deepEqual(parseAttack('nan,steal'), ['nan', 'steal'])
  for (const bad of ['flip', 'signflip+', 'nan+nan']) {
    assert.throws(() => parseAttack(bad), (e: unknown) => e instanceof SimError && e.code === SimErrorCode.ATTACK, bad)
  }
  assert.throws(() => applySetting(base, 'attack', 'bogus'), (e: unknown) => e instanceof SimError && e.code === SimErrorCode.ATTACK)
  assert.equal(applySetting(base, 'attack-fraction', '0.3').attackFraction, 0.3)
})

test('attack settings are refused before a run when the attackers cannot play every kind', () => {
  const field = (c: Partial<SimConfig>): unknown => {
    try { validateSimConfig({ ...base, ...c }); return undefined } catch (e) {
      assert.ok(e instanceof SimError && e.code === SimErrorCode.CONFIG, String(e))
      return e.detail.field
    }
  }
  assert.equal(field({ attack: ['signflip', 'nan', 'noise'] }), 'attack', '3 kinds, 0.2 × 10 = 2 attackers')
  assert.equal(field({ attack: ['signflip'], attackFraction: 0 }), 'attackFraction')
  assert.equal(field({ attack: ['signflip'], attackFraction: 0.6 }), 'attackFraction', 'at most half the members')
  assert.equal(field({ attack: [...ATTACK_KINDS], nodes: 35 }), undefined, '0.2 × 35 = 7 attackers, one per kind')
  assert.equal(field({ attackFraction: 0.5 }), undefined, 'a fraction without an attack is inert')
  assert.throws(() => applySetting(base, 'attack-fraction', '-1'), (e: unknown) => e instanceof SimError && e.code === SimErrorCode.CONFIG)
})

test('attackers are a seeded draw of round(fraction × nodes), kinds in turn; no attack leaves a run as it was', async () => {
  const a = chooseAttackers(35, 0.2, ATTACK_KINDS, 1)
  assert.deepEqual(a, chooseAttackers(35, 0.2, ATTACK_KINDS, 1))
  assert.equal(a.size, 7)
  assert.deepEqual(new Set(a.values()), new Set(ATTACK_KINDS))
  assert.notDeepEqual([...a.keys()], [...chooseAttackers(35, 0.2, ATTACK_KINDS, 2).keys()])
  assert.equal(chooseAttackers(10, 0.2, [], 1).size, 0)
  const cfg = validateSimConfig(base)
  const plain = await new Simulation(cfg, new SyntheticBackend(cfg.syntheticParams, cfg.seed)).run()
  const inert = await new Simulation(validateSimConfig({ ...base, attackFraction: 0.5 }), new SyntheticBackend(cfg.syntheticParams, cfg.seed)).run()
  assert.deepEqual(inert.rounds, plain.rounds)
  assert.deepEqual(plain.attackers, [])
})

test('signflip: the announced update decodes to −10× the honest one', async () => {
  const { cfg, backend, announces, attackers } = await attacked('signflip', { codec: 'fp32', rounds: 1 })
  assert.equal(attackers.size, 2)
  for (const a of announces) {
    const sent = decodeUpdate(a.bytes!, backend.layout).vector
    const honest = await honestDelta(backend, a.node, cfg.innerSteps)
    const scale = attackers.has(a.msg.peerId) ? -10 : 1
    let err = 0; let norm = 0
    for (let i = 0; i < sent.length; i++) { err += (sent[i] - scale * honest[i]) ** 2; norm += (scale * honest[i]) ** 2 }
    assert.ok(Math.sqrt(err / norm) < 1e-4, `${a.msg.peerId}: relative error ${Math.sqrt(err / norm)}`)
  }
})

test('noise: the announced update is noise at 10× the honest RMS, unrelated to the honest update', async () => {
  const { cfg, backend, announces, attackers } = await attacked('noise', { codec: 'fp32', rounds: 1 })
  for (const a of announces.filter(x => attackers.has(x.msg.peerId))) {
    const sent = decodeUpdate(a.bytes!, backend.layout).vector
    const honest = await honestDelta(backend, a.node, cfg.innerSteps)
    let ss = 0; let hh = 0; let sh = 0
    for (let i = 0; i < sent.length; i++) { ss += sent[i] ** 2; hh += honest[i] ** 2; sh += sent[i] * honest[i] }
    assert.ok(Math.abs(Math.sqrt(ss / hh) - 10) < 0.5, `RMS ratio ${Math.sqrt(ss / hh)}`)
    assert.ok(Math.abs(sh / Math.sqrt(ss * hh)) < 0.1, `cosine ${sh / Math.sqrt(ss * hh)}`)
  }
})

test('nan: a valid announce whose blob decodes to ERR_COMPRESS_NON_FINITE; the fold drops it', async () => {
  const { cfg, backend, result, announces, attackers } = await attacked('nan', { rounds: 1 })
  const bad = announces.filter(a => attackers.has(a.msg.peerId))
  assert.equal(bad.length, 2)
  const roundCfg = toRoundConfig(cfg, { runId: `sim-${cfg.seed}`, members: cfg.nodes })
  for (const a of bad) {
    assert.equal(validateAnnounce(a.msg, a.msg.baseModelId, roundCfg), null, 'the announce itself is valid')
    assert.equal(a.msg.size, a.bytes!.length)
    assert.throws(() => decodeUpdate(a.bytes!, backend.layout), (e: unknown) => e instanceof CompressError && e.code === CompressErrorCode.NON_FINITE)
  }
  assert.equal(result.rounds[0].included, 8, 'the honest updates only')
})

test('replay: from round 1 on the replayer announces its round-0 update again', async () => {
  const { announces, attackers } = await attacked('replay')
  for (const peer of attackers.keys()) {
    const mine = announces.filter(a => a.msg.peerId === peer)
    assert.equal(mine.length, 3)
    assert.ok(mine.every(a => a.msg.updateId === mine[0].msg.updateId), 'one update id in every round')
    assert.equal(new Set(mine.map(a => a.msg.baseModelId)).size, 3, 'each claimed as computed from that round\'s model')
  }
  const honest = announces.filter(a => !attackers.has(a.msg.peerId))
  assert.equal(new Set(honest.map(a => a.msg.updateId)).size, honest.length)
})

test('steal: honest update ids announced under the stealer\'s name with huge samples and capacity; its own never', async () => {
  const { announces, commits, attackers } = await attacked('steal')
  const honestIds = new Map(announces.filter(a => !attackers.has(a.msg.peerId)).map(a => [a.msg.updateId, a.msg.peerId]))
  const stolen = announces.filter(a => attackers.has(a.msg.peerId))
  assert.ok(stolen.length >= 8, `${stolen.length} stolen announces`)
  for (const a of stolen) {
    assert.ok(honestIds.has(a.msg.updateId), 'an honest node\'s update id')
    assert.notEqual(honestIds.get(a.msg.updateId), a.msg.peerId)
    assert.equal(a.msg.samples, CLAIMED_SAMPLES)
    assert.equal(a.msg.capacity, CLAIMED_CAPACITY)
  }
  // the roster's weights and the author bound into each update id refuse the copies: no commit
  // credits a stealer with an honest update, and every honest update is listed under its author
  // (the stealer's engine still folds its own unannounced update into commits of its own branch)
  const honestCommits = commits.filter(c => !attackers.has(c.aggregator))
  assert.ok(honestCommits.length >= 3)
  assert.ok(!honestCommits.some(c => c.included.some(u => attackers.has(u.peerId))), 'no honest commit credits a stealer')
  assert.ok(honestCommits.every(c => c.included.every(u => honestIds.get(u.updateId) === u.peerId)))
})

test('inflate: its own update, announced with huge samples and capacity, is refused: it neither weighs more nor wins elections', async () => {
  const { announces, commits, result, attackers } = await attacked('inflate')
  const mine = announces.filter(a => attackers.has(a.msg.peerId))
  assert.ok(mine.length >= 6, 'one a round at least (a node that rejoins the others\' branch announces a round again)')
  for (const a of mine) { assert.equal(a.msg.samples, CLAIMED_SAMPLES); assert.equal(a.msg.capacity, CLAIMED_CAPACITY) }
  assert.ok(commits.every(c => c.included.every(u => u.samples !== CLAIMED_SAMPLES && u.capacity !== CLAIMED_CAPACITY)), 'no inflated weight in any commit')
  assert.ok(!result.rounds.slice(1).every(r => attackers.has(r.aggregator)), 'the inflater does not win every election')
})

test('censor: an elected censor never hears honest announces, so its commit holds attackers\' updates only', async () => {
  const { commits, attackers } = await attacked('censor', { rounds: 10 })
  const byCensor = commits.filter(c => attackers.has(c.aggregator))
  assert.ok(byCensor.length > 0, 'a censor committed a round')
  for (const c of byCensor) assert.ok(c.included.every(u => attackers.has(u.peerId)), `round ${c.round}: ${c.included.map(u => u.peerId).join(',')}`)
  const honest = commits.find(c => !attackers.has(c.aggregator) && c.round === 0)
  assert.equal(honest?.included.length, 10, 'an honest aggregator hears everyone')
})
