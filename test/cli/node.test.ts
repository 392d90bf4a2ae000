// The operator commands refuse bad input with one clear line and a non-zero exit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertRefused, tapestry } from './helpers.js'

test('init creates identity, config and token; a second init is refused; bad configs are one-line errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-node-'))
  try {
    const d = join(dir, 'n')
    const r = tapestry('run', 'create', '--data-dir', d, '--name', 'r1', '--json')
    assert.equal(r.code, 0, r.stderr)
    const { peerId } = JSON.parse(r.stdout) as { peerId: string }
    assert.match(peerId, /^12D3KooW/)
    assert.equal(((await stat(join(d, 'identity.key'))).mode & 0o777), 0o600)
    const cfg = JSON.parse(await readFile(join(d, 'config.json'), 'utf8')) as Record<string, unknown>
    assertRefused(tapestry('init', '--data-dir', d, '--run', join(d, 'run.json')), 'ERR_DAEMON_DATA_DIR_EXISTS')
    assertRefused(tapestry('run', 'create', '--data-dir', d, '--name', 'again'), 'ERR_DAEMON_DATA_DIR_EXISTS')
    // with no daemon, status answers from the data dir
    const offline = tapestry('status', '--data-dir', d)
    assert.equal(offline.code, 0, offline.stderr)
    assert.match(offline.stdout, /not running/)
    assertRefused(tapestry('peers', '--data-dir', d), 'ERR_DAEMON_NOT_RUNNING')
    await writeFile(join(d, 'config.json'), JSON.stringify({ ...cfg, codec: 'topk:7+q9' }))
    assertRefused(tapestry('start', '--data-dir', d), 'ERR_DAEMON_CONFIG', 'codec')
    // a valid setting that differs from the manifest's: the node cannot start, and says which
    await writeFile(join(d, 'config.json'), JSON.stringify({ ...cfg, codec: 'topk:0.02+q4', quorum: 0.5 }))
    assertRefused(tapestry('start', '--data-dir', d), 'ERR_MANIFEST_SETTINGS', 'codec: manifest "topk:0.01+q4", here "topk:0.02+q4"; quorum: manifest 0.75, here 0.5')
    await writeFile(join(d, 'config.json'), JSON.stringify({ ...cfg, bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }))
    assertRefused(tapestry('start', '--data-dir', d), 'ERR_DAEMON_CONFIG', 'bootstrap')
    await writeFile(join(d, 'config.json'), '{ not json')
    assertRefused(tapestry('start', '--data-dir', d), 'ERR_DAEMON_CONFIG')
  } finally { await rm(dir, { recursive: true }) }
})

test('sim refuses bad settings before running', () => {
  for (const [args, code, names] of [
    [['--topology', 'hypercube'], 'ERR_SIM_TOPOLOGY', 'hypercube'],
    [['--nodes', '4', '--quorum', '2'], 'ERR_SIM_CONFIG', 'quorum'],
    [['--leave-rate', '-2'], 'ERR_SIM_CONFIG', 'leave-rate'],
    [['--compare', 'codec'], 'ERR_SIM_CONFIG', '--compare']
  ] as const) {
    assertRefused(tapestry('sim', ...args), code, names)
  }
})
