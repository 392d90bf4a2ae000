// `tapestry init --force` changes only the fields it is given: the rest of the old config is kept.
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

test('init --force merges the given fields over the old config, keeps identity and token, and says what changed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-init-'))
  try {
    const d = join(dir, 'n')
    const first = tapestry('init', '--data-dir', d, '--run-id', 'r1', '--listen', '/ip4/127.0.0.1/tcp/4101', '--set', 'innerSteps=7', 'codec=topk:0.1+q4', '--json')
    assert.equal(first.code, 0, first.stderr)
    const { peerId } = JSON.parse(first.stdout) as { peerId: string }
    const token = await readFile(join(d, 'control.token'), 'utf8')
    const before = await config(d)

    // no --run-id: the old one is kept
    const again = tapestry('init', '--data-dir', d, '--force', '--set', 'batch=16', '--json')
    assert.equal(again.code, 0, again.stderr)
    const r = JSON.parse(again.stdout) as { peerId: string, changed: string[] }
    assert.equal(r.peerId, peerId)
    assert.deepEqual(r.changed, ['batch'])
    assert.deepEqual(await config(d), { ...before, batch: 16 })
    assert.equal(await readFile(join(d, 'control.token'), 'utf8'), token)

    // null puts a field back to its default; the human output names what changed
    const reset = tapestry('init', '--data-dir', d, '--force', '--set', 'innerSteps=null')
    assert.equal(reset.code, 0, reset.stderr)
    assert.match(reset.stdout, /changed: innerSteps\n/)
    assert.deepEqual(await config(d), { ...before, batch: 16, innerSteps: 50 })

    // a merged config is validated like a new one
    const bad = tapestry('init', '--data-dir', d, '--force', '--set', 'shard=3')
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /\[ERR_DAEMON_CONFIG\]/)
    assert.equal((await config(d)).shard, 0)

    // an unreadable old config keeps nothing, and says so
    await writeFile(join(d, 'config.json'), '{ torn')
    const fixed = tapestry('init', '--data-dir', d, '--force', '--run-id', 'r2')
    assert.equal(fixed.code, 0, fixed.stderr)
    assert.match(fixed.stdout, /old config was unreadable/)
    const now = await config(d)
    assert.equal(now.runId, 'r2')
    assert.equal(now.innerSteps, 50)
    assert.deepEqual(now.members, [peerId])
  } finally { await rm(dir, { recursive: true }) }
})

test('init without --run-id on a fresh data dir is refused with ERR_DAEMON_CONFIG', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-init-'))
  try {
    const r = tapestry('init', '--data-dir', join(dir, 'n'))
    assert.equal(r.code, 1)
    assert.match(r.stderr, /runId is required.*\[ERR_DAEMON_CONFIG\]/)
    assert.equal(existsSync(join(dir, 'n')), false, 'nothing written')
  } finally { await rm(dir, { recursive: true }) }
})
