// A run refuses a fold rule its members can never satisfy (founding members or the minimum before round 0, whichever is larger).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkRuleFeasible, parseNodeConfig } from '../../src/daemon/config.js'
import { DaemonError, DaemonErrorCode } from '../../src/daemon/errors.js'
import { AggregateErrorCode } from '../../src/aggregate/index.js'
import { parseRunSettings } from '../../src/round/index.js'
import { createRun } from '../../src/daemon/create-run.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const infeasible = (e: unknown): boolean => e instanceof DaemonError && e.code === DaemonErrorCode.BadConfig &&
  (e.cause as { code?: string } | undefined)?.code === AggregateErrorCode.RuleInfeasible

test('a fold rule that needs more members than the run has is refused, with the rule\'s code as cause', () => {
  const refused = (settings: object, members: number): void => {
    assert.throws(() => checkRuleFeasible(parseRunSettings(settings), members), infeasible)
  }
  refused({ rule: 'krum:2' }, 4)
  refused({ rule: 'trimmed:0.1' }, 9)
  // hierarchical: the rule acts inside a group, 12 members in groups of 4
  refused({ rule: 'krum:1', mode: 'hierarchical', groupSize: 4 }, 12)
  checkRuleFeasible(parseRunSettings({ rule: 'krum:2' }), 7)
  checkRuleFeasible(parseRunSettings({ rule: 'krum:1', mode: 'hierarchical', groupSize: 6 }), 12)
  checkRuleFeasible(parseRunSettings({}), 1)
})

test('run create refuses an infeasible rule before writing anything it would start with', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-rule-'))
  try {
    await assert.rejects(createRun(join(dir, 'a'), { name: 'r', fields: { rule: 'krum:2' }, minMembers: 4 }), infeasible)
    await createRun(join(dir, 'b'), { name: 'r', fields: { rule: 'krum:2' }, minMembers: 7 })
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('a rule that does not parse is reported on the field', () => {
  assert.throws(() => parseNodeConfig({ rule: 'krum:x' }), (e: unknown) =>
    e instanceof DaemonError && e.code === DaemonErrorCode.BadConfig && e.field === 'rule')
})
