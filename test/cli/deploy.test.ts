// The service files in deploy/: the systemd unit passes `systemd-analyze verify` where systemd is
// installed (skipped, with the reason, elsewhere), restarts on failure, and runs the daemon the
// way the README says; the container recipe builds from the registry alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const DEPLOY = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'deploy')

test('the systemd unit verifies, restarts on failure and stops with SIGTERM', async (t) => {
  const unit = await readFile(join(DEPLOY, 'tapestry.service'), 'utf8')
  assert.match(unit, /^Restart=on-failure$/m)
  assert.match(unit, /^KillSignal=SIGTERM$/m)
  assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/tapestry\/bin\/tapestry\.js start --data-dir \/var\/lib\/tapestry$/m)
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
  if (probe.error != null) { t.skip('systemd-analyze is not installed here'); return }
  const r = spawnSync('systemd-analyze', ['verify', join(DEPLOY, 'tapestry.service')], { encoding: 'utf8' })
  // a missing /usr/bin/node on a build machine is the only complaint allowed (the unit names the installed path)
  const complaints = (r.stderr + r.stdout).split('\n').filter(l => l.trim() !== '' && !/\/usr\/bin\/node/.test(l))
  assert.deepEqual(complaints, [], 'systemd-analyze verify has nothing to say')
})

test('the container recipe installs with npm ci only and starts the daemon', async () => {
  const recipe = await readFile(join(DEPLOY, 'Containerfile'), 'utf8')
  assert.match(recipe, /^RUN npm ci/m)
  assert.doesNotMatch(recipe, /curl|wget|apt-get/, 'nothing from outside the npm registry')
  assert.match(recipe, /^CMD \["start", "--data-dir", "\/data"\]$/m)
})
