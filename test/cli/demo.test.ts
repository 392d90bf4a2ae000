// `tapestry demo`: its temp data goes when it is done; with --keep the daemons stay up to explore
// (the status page answers) until Ctrl-C, and their data dirs stay.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { spawnTapestry, tapestry } from './helpers.js'

test('demo removes its temp dir when done', { timeout: 180_000 }, () => {
  const r = tapestry('demo', '--nodes', '2', '--rounds', '2', '--json')
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as { rounds: number, dir: string }
  assert.ok(s.rounds >= 2)
  assert.equal(existsSync(s.dir), false, `${s.dir} removed`)
})

test('demo --keep leaves the daemons running to explore until Ctrl-C, and keeps their data', { timeout: 180_000 }, async () => {
  const d = spawnTapestry(['demo', '--nodes', '2', '--rounds', '1', '--keep'])
  const deadline = Date.now() + 150_000
  while (d.seenAt(/press Ctrl-C/) == null) {
    assert.ok(Date.now() < deadline, d.output())
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const page = /status page {2}(http:\/\/127\.0\.0\.1:\d+\/)/.exec(d.output())?.[1]
  assert.ok(page != null, d.output())
  assert.match(await (await fetch(page)).text(), /<title>Tapestry node<\/title>/)
  const dir = /starting 2 daemons in (\S+)/.exec(d.output())?.[1]
  assert.ok(dir != null)
  d.proc.kill('SIGINT')
  const exit = await d.exited
  assert.equal(exit.code, 0, d.output())
  assert.ok(existsSync(dir), 'data kept')
  await rm(dir, { recursive: true, force: true })
})
