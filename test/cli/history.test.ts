// History and ledger from the command line: rounds persist in the data dir, `rounds --last/--follow`
// read them live, `status`/`rounds`/`contributions` answer with the daemon stopped, `--version` answers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rm } from 'node:fs/promises'
import { LocalCluster } from '../../src/daemon/cluster.js'
import { tapestry } from './helpers.js'

const BIN = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'bin', 'tapestry.js')
const CONFIG = { innerSteps: 3, threads: 1, deadlineMs: 6_000, collectMs: 2_000, backupStepMs: 2_000, partition: 'iid' }

test('--version names the package version', () => {
  const r = tapestry('--version')
  assert.equal(r.code, 0)
  assert.match(r.stdout, /^tapestry \d+\.\d+\.\d+ \(node \d+/)
})

test('rounds live (--last, --follow) and, with the daemon stopped, rounds, status and the contribution ledger', { timeout: 180_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 2, rounds: 0, config: CONFIG })
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  await c.startAll()
  const dir = c.nodes[0].dataDir
  await c.waitFor('3 rounds', async () => (await c.rounds(0)).some(r => r.round >= 2), 120_000)

  const last = JSON.parse(tapestry('rounds', '--data-dir', dir, '--last', '2', '--json').stdout) as { rounds: Array<{ round: number }> }
  assert.equal(last.rounds.length, 2)

  // --follow prints the rounds as they come, one line each (bounded: stopped after two new ones)
  const follow = spawn(process.execPath, [BIN, 'rounds', '--data-dir', dir, '--follow', '--last', '1', '--json'], { env: { ...process.env, TAPESTRY_LOG: 'warn' } })
  let out = ''
  follow.stdout.on('data', d => { out += String(d) })
  const lines = (): number[] => out.trim().split('\n').filter(l => l !== '').map(l => (JSON.parse(l) as { round: number }).round)
  await c.waitFor('two new rounds followed', async () => lines().length >= 3, 60_000, 200)
  follow.kill('SIGINT')
  const seen = lines()
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'in order')
  assert.equal(new Set(seen).size, seen.length, 'each round once')

  await c.stopAll()
  const offline = tapestry('rounds', '--data-dir', dir, '--json')
  assert.equal(offline.code, 0, offline.stderr)
  const rounds = (JSON.parse(offline.stdout) as { rounds: Array<{ round: number }> }).rounds
  assert.ok(rounds.length >= 4, `history kept on disk: ${rounds.length} rounds`)
  const human = tapestry('rounds', '--data-dir', dir)
  assert.match(human.stderr, /daemon not running/)
  const status = tapestry('status', '--data-dir', dir, '--json')
  assert.equal(status.code, 0, status.stderr)
  const s = JSON.parse(status.stdout) as { running: boolean, listen: string[], lastRound: { round: number } }
  assert.equal(s.running, false)
  assert.ok(s.listen.length > 0, 'the address to give a partner')
  assert.equal(s.lastRound.round, rounds[rounds.length - 1].round)

  // the daemon's log, from its data dir: JSON records, filtered by level and time
  const logs = tapestry('logs', '--data-dir', dir, '--json')
  assert.equal(logs.code, 0, logs.stderr)
  const records = logs.stdout.trim().split('\n').map(l => JSON.parse(l) as { level: number, msg: string, time: number })
  assert.ok(records.some(r => r.msg === 'node started'))
  assert.ok(records.some(r => /^round \d+ applied$/.test(r.msg)))
  const warn = tapestry('logs', '--data-dir', dir, '--json', '--level', 'warn')
  assert.ok(warn.stdout.trim().split('\n').filter(l => l !== '').every(l => (JSON.parse(l) as { level: number }).level >= 40))
  assert.equal(tapestry('logs', '--data-dir', dir, '--since', '1d').stdout.trim().split('\n').length, records.length, 'a day back: every record, as human lines')
  assert.equal(tapestry('logs', '--data-dir', dir, '--since', new Date(Date.now() + 60_000).toISOString()).stdout.trim(), '', 'nothing from the future')
  assert.equal(tapestry('logs', '--data-dir', dir, '--since', 'yesterday').code, 1, 'a bad --since is refused')

  const model = tapestry('model', '--data-dir', dir, '--json')
  assert.equal(model.code, 0, model.stderr)
  const m = JSON.parse(model.stdout) as { round: number, modelId: string, params: number }
  assert.equal(m.round, rounds[rounds.length - 1].round, 'the model of the last persisted round')
  assert.ok(m.params > 1000 && m.modelId.startsWith('b'))

  const ledger = tapestry('contributions', '--data-dir', dir, '--json')
  assert.equal(ledger.code, 0, ledger.stderr)
  const l = JSON.parse(ledger.stdout) as { commits: number, members: Array<{ peerId: string, rounds: number, samples: number, bytes: number, unsized: number }> }
  assert.ok(l.commits >= 4)
  assert.deepEqual(l.members.map(m => m.peerId).sort(), c.nodes.map(n => n.peerId).sort(), 'both members contributed')
  for (const m of l.members) {
    assert.ok(m.rounds >= 1 && m.samples >= m.rounds && m.bytes > 100 * m.rounds && m.unsized === 0, JSON.stringify(m))
  }
})
