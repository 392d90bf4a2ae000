// The node config refuses a fold rule the founding members can never satisfy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseNodeConfig } from '../../src/daemon/config.js'
import { DaemonError, DaemonErrorCode } from '../../src/daemon/errors.js'
import { AggregateErrorCode } from '../../src/aggregate/index.js'

const members = (n: number): string[] => Array.from({ length: n }, (_, i) => `peer-${i}`)

test('a fold rule that needs more members than the run has is refused at start, with the rule\'s code as cause', () => {
  const refused = (cfg: object): void => {
    assert.throws(() => parseNodeConfig({ runId: 'r', ...cfg }), (e: unknown) =>
      e instanceof DaemonError && e.code === DaemonErrorCode.BadConfig &&
      (e.cause as { code?: string } | undefined)?.code === AggregateErrorCode.RuleInfeasible)
  }
  refused({ members: members(4), rule: 'krum:2' })
  refused({ members: members(9), rule: 'trimmed:0.1' })
  // hierarchical: the rule acts inside a group, 12 members in groups of 4
  refused({ members: members(12), rule: 'krum:1', mode: 'hierarchical', groupSize: 4 })
  assert.equal(parseNodeConfig({ runId: 'r', members: members(7), rule: 'krum:2' }).rule, 'krum:2')
  assert.equal(parseNodeConfig({ runId: 'r', members: members(12), rule: 'krum:1', mode: 'hierarchical', groupSize: 6 }).rule, 'krum:1')
  assert.equal(parseNodeConfig({ runId: 'r', members: members(1) }).rule, 'mean')
})

test('a rule that does not parse is reported on the field, not thrown from the cross-field check', () => {
  assert.throws(() => parseNodeConfig({ runId: 'r', members: members(4), rule: 'krum:x' }), (e: unknown) =>
    e instanceof DaemonError && e.code === DaemonErrorCode.BadConfig && e.cause === undefined)
})
