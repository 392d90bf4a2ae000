// The operator commands refuse bad input with one clear line and a non-zero exit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tapestry } from './helpers.js'

test('init creates identity, config and token; a second init is refused; bad configs are one-line errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-node-'))
  try {
    const d = join(dir, 'n')
    const r = tapestry('init', '--data-dir', d, '--run-id', 'r1', '--json')
    assert.equal(r.code, 0, r.stderr)
    const { peerId } = JSON.parse(r.stdout) as { peerId: string }
    assert.match(peerId, /^12D3KooW/)
    assert.equal(((await stat(join(d, 'identity.key'))).mode & 0o777), 0o600)
    const cfg = JSON.parse(await readFile(join(d, 'config.json'), 'utf8')) as { members: string[] }
    assert.deepEqual(cfg.members, [peerId])
    const again = tapestry('init', '--data-dir', d, '--run-id', 'r1')
    assert.notEqual(again.code, 0)
    assert.match(again.stderr, /already initialised/)
    const notRunning = tapestry('status', '--data-dir', d)
    assert.notEqual(notRunning.code, 0)
    assert.match(notRunning.stderr, /no daemon running/)
    await writeFile(join(d, 'config.json'), JSON.stringify({ ...cfg, runId: 'r1', codec: 'topk:7+q9' }))
    const bad = tapestry('start', '--data-dir', d)
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /codec/)
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr)
    await writeFile(join(d, 'config.json'), JSON.stringify({ ...cfg, runId: 'r1', bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }))
    const noPeer = tapestry('start', '--data-dir', d)
    assert.notEqual(noPeer.code, 0)
    assert.match(noPeer.stderr, /bootstrap.*\/p2p\/<peer id>/)
    await writeFile(join(d, 'config.json'), '{ not json')
    assert.match(tapestry('start', '--data-dir', d).stderr, /not valid JSON/)
  } finally { await rm(dir, { recursive: true }) }
})

test('sim refuses bad settings before running', () => {
  for (const [args, pattern] of [
    [['--topology', 'hypercube'], /hypercube/],
    [['--nodes', '4', '--backups', '4'], /backups/],
    [['--leave-rate', '-2'], /leave-rate/],
    [['--compare', 'codec'], /--compare/]
  ] as const) {
    const r = tapestry('sim', ...args)
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, pattern)
  }
})
