// `tapestry init` and `tapestry sim` show the same run-setting defaults (the schema's); init writes them; the sim reads the same keys from --config.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tapestry } from './helpers.js'
import { RUN_DEFAULTS, RUN_SETTING_KEYS } from '../../src/round/index.js'
import { parseNodeConfig } from '../../src/daemon/config.js'
import { simFlag } from '../../src/sim/config.js'
import { SimError, SimErrorCode } from '../../src/sim/errors.js'
import { parseSimOptions } from '../../src/cli/commands/sim.js'
import { formatDefault } from '../../src/cli/parse.js'

/** `key → default` as init lists its run settings after the options. */
function initDefaults (help: string): Map<string, string> {
  const out = new Map<string, string>()
  const section = help.slice(help.indexOf('Run settings'))
  for (const line of section.split('\n')) {
    const m = /^ {2}(\w+) {2,}.*\(default: ([^)]*)\)$/.exec(line)
    if (m != null) out.set(m[1], m[2])
  }
  return out
}

/** `key → default` of the sim's flags (commander wraps descriptions: whitespace is collapsed first). */
function simDefaults (help: string): Map<string, string> {
  const flat = help.replace(/\s+/g, ' ')
  const out = new Map<string, string>()
  for (const k of RUN_SETTING_KEYS) {
    const m = new RegExp(`--${simFlag(k)} <[a-z]+> (.*?)(?= --[a-z]|$)`).exec(flat)
    assert.ok(m != null, `sim --help lists --${simFlag(k)}`)
    const d = /\(default: ([^)]*)\)\s*$/.exec(m[1])
    if (d != null) out.set(k, d[1])
  }
  return out
}

test('init --help and sim --help show the same run-setting defaults, the schema\'s', () => {
  const init = tapestry('init', '--help')
  const sim = tapestry('sim', '--help')
  assert.equal(init.code, 0, init.stderr)
  assert.equal(sim.code, 0, sim.stderr)
  const a = initDefaults(init.stdout)
  const b = simDefaults(sim.stdout)
  const expected = new Map(RUN_SETTING_KEYS.filter(k => RUN_DEFAULTS[k] !== undefined).map(k => [k, formatDefault(RUN_DEFAULTS[k])]))
  assert.deepEqual(a, expected)
  assert.deepEqual(b, expected)
  // derived timings say so instead of printing a number that could drift from the deadline
  assert.match(init.stdout, /collectMs .*default deadlineMs \/ 2/)
})

test('init writes the schema defaults into config.json and refuses a bad --set naming the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-settings-'))
  try {
    const d = join(dir, 'n')
    const r = tapestry('run', 'create', '--data-dir', d, '--name', 'r1', '--json')
    assert.equal(r.code, 0, r.stderr)
    const written = JSON.parse(await readFile(join(d, 'config.json'), 'utf8')) as Record<string, unknown>
    const cfg = parseNodeConfig(written)
    for (const k of RUN_SETTING_KEYS) assert.deepEqual(cfg[k], RUN_DEFAULTS[k], k)
    const bad = tapestry('run', 'create', '--data-dir', join(dir, 'm'), '--name', 'r1', '--set', 'quorum=2')
    assert.notEqual(bad.code, 0)
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr)
    assert.match(bad.stderr, /quorum: .*\[ERR_ROUND_RUN_SETTINGS\]/)
  } finally { await rm(dir, { recursive: true }) }
})

test('sim --config reads run settings in the node config\'s keys, flags on top; a bad one is a SimError naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-settings-'))
  try {
    const file = join(dir, 'settings.json')
    await writeFile(file, JSON.stringify({ nodes: 6, codec: 'topk:0.03+q4', deadlineMs: 6000, backupStepMs: 1000, 'inner-steps': 5, restoreExcluded: false, crashRounds: [1] }))
    const o = await parseSimOptions({ config: file, quorum: '0.5' })
    assert.equal(o.config.codec, 'topk:0.03+q4')
    assert.equal(o.config.deadlineMs, 6000)
    assert.equal(o.config.collectMs, undefined, 'derived from the deadline by the engine')
    assert.equal(o.config.backupStepMs, 1000)
    assert.equal(o.config.innerSteps, 5)
    assert.equal(o.config.restoreExcluded, false)
    assert.deepEqual(o.config.crashRounds, [1])
    assert.equal(o.config.quorum, 0.5)
    await writeFile(file, JSON.stringify({ outerMomentum: 1.5 }))
    await assert.rejects(parseSimOptions({ config: file }), (err: unknown) => {
      assert.ok(err instanceof SimError)
      assert.equal(err.code, SimErrorCode.CONFIG)
      assert.equal(err.detail.field, 'outerMomentum')
      return true
    })
    await assert.rejects(parseSimOptions({ nodes: '4', quorum: '2' }), (err: unknown) => err instanceof SimError && err.code === SimErrorCode.CONFIG && err.detail.field === 'quorum')
    await assert.rejects(parseSimOptions({ collectMs: '30000' }), (err: unknown) => err instanceof SimError && err.code === SimErrorCode.CONFIG && err.detail.field === 'collectMs')
  } finally { await rm(dir, { recursive: true }) }
})
