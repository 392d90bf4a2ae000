// The privacy ledger never counts fewer releases than left the node: across restarts, racing
// releases, and a ledger file that cannot be read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PrivacyLedger } from '../../src/daemon/privacy-ledger.js'
import { DaemonError, DaemonErrorCode } from '../../src/daemon/errors.js'
import { createPrivacySettings } from '../../src/privacy/index.js'

const settings = createPrivacySettings({ clipNorm: 1, noiseMultiplier: 1, delta: 1e-5 })

async function withDir (fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tp-ledger-'))
  try { await fn(dir) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('releases survive a restart; ε grows with them', async () => withDir(async dir => {
  const l = await PrivacyLedger.open(dir, settings)
  assert.equal(l.view().epsilon, 0)
  await l.release()
  await l.release()
  const again = await PrivacyLedger.open(dir, settings)
  assert.equal(again.releases, 2)
  assert.ok(again.view().epsilon > 0)
}))

test('racing releases store the highest count, in one file', async () => withDir(async dir => {
  const l = await PrivacyLedger.open(dir, settings)
  await Promise.all(Array.from({ length: 20 }, async () => { await l.release() }))
  assert.equal(JSON.parse(await readFile(join(dir, 'privacy.json'), 'utf8')).releases, 20)
  assert.deepEqual(await readdir(dir), ['privacy.json'])
}))

test('a corrupt ledger is refused (a reset to 0 would under-report ε); a killed write\'s temp is removed', async () => withDir(async dir => {
  await writeFile(join(dir, 'privacy.json.tmp-99999999-0'), '{"releases":')
  for (const text of ['', '{"releases":', '{"releases":-1}', '{}']) {
    await writeFile(join(dir, 'privacy.json'), text)
    await assert.rejects(PrivacyLedger.open(dir, settings), (e: unknown) => e instanceof DaemonError && e.code === DaemonErrorCode.StoreCorrupt, text)
  }
  assert.deepEqual(await readdir(dir), ['privacy.json'])
}))
