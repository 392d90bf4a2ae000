// The operator's page and metrics, as a person and Prometheus see them: a running 2-node run, its
// status page opened in headless Chromium (Debian's `chromium`, driven by playwright-core), and the
// /metrics text. Skipped, with the reason, where no Chromium is installed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocalCluster } from '../../src/daemon/cluster.js'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROMIUM_PATH ?? ''].find(p => p !== '' && existsSync(p))
const CONFIG = { innerSteps: 3, threads: 1, deadlineMs: 6_000, collectMs: 2_000, backupStepMs: 2_000, partition: 'iid' }
const SCREENSHOT = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'docs', 'status-page.png')

test('metrics and the status page of a running node', { timeout: 180_000 }, async (t) => {
  const c = await LocalCluster.create({ nodes: 2, rounds: 0, config: CONFIG, name: 'page-test' })
  t.after(async () => { await c.stopAll(); await rm(c.dir, { recursive: true, force: true }) })
  await c.startAll()
  await c.waitFor('3 rounds with a loss', async () => (await c.rounds(0)).filter(r => r.loss != null).length >= 3, 120_000)
  const status = await c.query(0, 'status')
  assert.ok(status.opsUrl != null, 'status names the page and metrics address')

  const metrics = await (await fetch(`${status.opsUrl}metrics`)).text()
  for (const name of ['tapestry_round', 'tapestry_loss', 'tapestry_bytes_total', 'tapestry_commits_applied_total', 'tapestry_commit_latency_seconds_bucket', 'libp2p_']) {
    assert.ok(metrics.includes(name), `/metrics has ${name}`)
  }
  assert.match(metrics, /tapestry_round \d+/)
  assert.equal((await fetch(`${status.opsUrl}metrics`, { method: 'POST' })).status, 405, 'read-only')

  if (CHROMIUM == null) { t.skip('no Chromium here (apt-get install chromium): the page was not opened'); return }
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
    await page.goto(status.opsUrl)
    // what a person sees: the run's name, the peer, rounds with aggregators and verification, curves
    await page.waitForFunction("document.querySelectorAll('#rounds tbody tr').length >= 3", undefined, { timeout: 20_000 })
    assert.match(await page.textContent('#title') ?? '', /page-test/)
    assert.match(await page.textContent('#sub') ?? '', new RegExp(status.peerId))
    const peers = await page.$$eval('#peers tbody tr', rows => rows.map(r => r.textContent ?? ''))
    assert.ok(peers.length >= 1, 'the other member is listed')
    const firstRound = await page.$$eval('#rounds tbody tr:first-child td', tds => tds.map(td => td.textContent ?? ''))
    assert.ok(['full', 'aggregate', 'self', 'groups'].includes(firstRound[4]), `verification shown: ${firstRound.join(' | ')}`)
    assert.ok(await page.$eval('#loss path', p => (p.getAttribute('d') ?? '').split('L').length >= 3), 'a loss curve is drawn')
    assert.match(await page.textContent('#node') ?? '', /\/ip4\/127\.0\.0\.1\/tcp\/\d+/, 'the listen address is on the page')
    if (process.env.UPDATE_SCREENSHOT === '1') await page.screenshot({ path: SCREENSHOT, fullPage: true })
  } finally {
    await browser.close()
  }
})
