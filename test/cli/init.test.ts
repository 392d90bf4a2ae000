// `tapestry run create` sets up the creator, `tapestry init --run` a partner; `init --force` changes
// only the node's own fields, and run settings that differ from the manifest are refused by name.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tapestry } from './helpers.js'

async function config (d: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(d, 'config.json'), 'utf8')) as Record<string, unknown>
}

test('run create sets up the creator; init --run a partner; init --force changes node fields and refuses differing run settings by name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-init-'))
  try {
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    const run = join(dir, 'run.json')
    const created = tapestry('run', 'create', '--data-dir', a, '--name', 'r1', '--listen', '/ip4/127.0.0.1/tcp/0', '--set', 'innerSteps=7', 'codec=topk:0.1+q4', '--out', run, '--json')
    assert.equal(created.code, 0, created.stderr)
    const { runId } = JSON.parse(created.stdout) as { runId: string }
    assert.match(runId, /^bagaaiera/)
    // a port 0 is pinned once, so the address handed to partners stays valid across restarts
    const listen = (await config(a)).listen as string[]
    assert.match(listen[0], /^\/ip4\/127\.0\.0\.1\/tcp\/[1-9]\d*$/)

    const joined = tapestry('init', '--data-dir', b, '--run', run, '--json')
    assert.equal(joined.code, 0, joined.stderr)
    const j = JSON.parse(joined.stdout) as { peerId: string, runId: string }
    assert.equal(j.runId, runId)
    assert.equal((await config(b)).innerSteps, 7, 'settings come from the manifest')
    const human = tapestry('init', '--data-dir', join(dir, 'c'), '--run', run)
    assert.match(human.stdout, /not a founding member: send the peer id above to an admin/)

    const token = await readFile(join(b, 'control.token'), 'utf8')
    const before = await config(b)
    const again = tapestry('init', '--data-dir', b, '--force', '--set', 'shards=2', 'shard=1', '--json')
    assert.equal(again.code, 0, again.stderr)
    const r = JSON.parse(again.stdout) as { peerId: string, changed: string[] }
    assert.equal(r.peerId, j.peerId)
    assert.deepEqual(r.changed.sort(), ['shard', 'shards'])
    assert.deepEqual(await config(b), { ...before, shards: 2, shard: 1 })
    assert.equal(await readFile(join(b, 'control.token'), 'utf8'), token)

    // run settings are the manifest's: a different value is refused, naming the field and both values
    const differ = tapestry('init', '--data-dir', b, '--force', '--set', 'innerSteps=8', 'outerLr=0.5')
    assert.equal(differ.code, 1)
    assert.match(differ.stderr, /innerSteps: manifest 7, here 8/)
    assert.match(differ.stderr, /outerLr: manifest 1, here 0\.5.*\[ERR_MANIFEST_SETTINGS\]/)
    assert.equal((await config(b)).innerSteps, 7)

    // a merged config is validated like a new one
    const bad = tapestry('init', '--data-dir', b, '--force', '--set', 'shard=3')
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /\[ERR_DAEMON_CONFIG\]/)
    assert.equal((await config(b)).shard, 1)

    // an unreadable old config keeps nothing but the run, and says so
    await writeFile(join(b, 'config.json'), '{ torn')
    const fixed = tapestry('init', '--data-dir', b, '--force')
    assert.equal(fixed.code, 0, fixed.stderr)
    assert.match(fixed.stdout, /old config was unreadable/)
    assert.equal((await config(b)).innerSteps, 7)
    assert.equal((await config(b)).shard, 0)

    // a data dir never changes run
    const other = join(dir, 'other.json')
    assert.equal(tapestry('run', 'create', '--data-dir', join(dir, 'z'), '--name', 'another', '--out', other).code, 0)
    const moved = tapestry('init', '--data-dir', b, '--force', '--run', other)
    assert.equal(moved.code, 1)
    assert.match(moved.stderr, /belongs to run .*"r1".*not .*"another".*\[ERR_DAEMON_CONFIG\]/)
  } finally { await rm(dir, { recursive: true }) }
})

test('init without --run on a fresh data dir is refused with ERR_DAEMON_NO_RUN, nothing written; a tampered manifest is refused by code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-init-'))
  try {
    const r = tapestry('init', '--data-dir', join(dir, 'n'))
    assert.equal(r.code, 1)
    assert.match(r.stderr, /pass --run run\.json.*\[ERR_DAEMON_NO_RUN\]/)
    assert.equal(existsSync(join(dir, 'n')), false, 'nothing written')

    const run = join(dir, 'run.json')
    assert.equal(tapestry('run', 'create', '--data-dir', join(dir, 'a'), '--name', 'r1', '--out', run).code, 0)
    const m = JSON.parse(await readFile(run, 'utf8')) as { body: { name: string, settings: { outerLr: number } }, signature: string }
    await writeFile(join(dir, 'renamed.json'), JSON.stringify({ ...m, body: { ...m.body, name: 'r2' } }))
    const renamed = tapestry('init', '--data-dir', join(dir, 'b'), '--run', join(dir, 'renamed.json'))
    assert.match(renamed.stderr, /does not match its body.*\[ERR_MANIFEST_RUN_ID\]/)
    const sig = m.signature
    await writeFile(join(dir, 'forged.json'), JSON.stringify({ ...m, signature: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) }))
    assert.match(tapestry('init', '--data-dir', join(dir, 'b'), '--run', join(dir, 'forged.json')).stderr, /\[ERR_MANIFEST_SIGNATURE\]/)
    assert.match(tapestry('init', '--data-dir', join(dir, 'b'), '--run', join(dir, 'missing.json')).stderr, /cannot read run manifest.*\[ERR_DAEMON_NO_RUN\]/)
    assert.equal(existsSync(join(dir, 'b')), false, 'nothing written')
  } finally { await rm(dir, { recursive: true }) }
})
