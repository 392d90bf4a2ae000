// The candidates' schedule and the close decision (src/round/windows.ts), as election.md states them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { candidateWindow, closeDecision, groupWindow, rootCollectMs, type CloseInputs } from '../../src/round/windows.js'

const cfg = { deadlineMs: 1000, collectMs: 500, backupStepMs: 400, backups: 2, quorum: 0.5 }

test('candidate windows: the aggregator from the start to the deadline, backup i one step each after it', () => {
  assert.deepEqual(candidateWindow(cfg, 100, 0), { start: 100, end: 1100 })
  assert.deepEqual(candidateWindow(cfg, 100, 1), { start: 1100, end: 1500 })
  assert.deepEqual(candidateWindow(cfg, 100, 2), { start: 1500, end: 1900 })
  assert.equal(candidateWindow(cfg, 100, -1), null, 'outside the electorate')
})

test('group windows end before the root may close with a quorum of group folds', () => {
  // step = (1000 − 500) / (2 · 3) ≈ 83.3 ms
  const step = 500 / 6
  assert.deepEqual(groupWindow(cfg, 0, 0), { start: 0, end: 500 + step })
  assert.deepEqual(groupWindow(cfg, 0, 2), { start: 500 + step + step, end: 500 + step + 2 * step })
  assert.equal(rootCollectMs(cfg), groupWindow(cfg, 0, cfg.backups).end)
  assert.ok(rootCollectMs(cfg) < cfg.deadlineMs)
})

test('close: at once when all are in; with a quorum from collectMs; with anything at the last quarter; else wake then', () => {
  const base: CloseInputs = { now: 0, startedAt: 0, win: { start: 0, end: 1000 }, collectMs: 500, allIn: false, usable: 0, expected: 10, minInputs: 1 }
  assert.deepEqual(closeDecision(cfg, { ...base, now: 10, allIn: true, usable: 10 }), { close: true })
  assert.deepEqual(closeDecision(cfg, { ...base, now: 10, usable: 9 }), { close: false, wakeAt: 500 }, 'a quorum waits for collectMs')
  assert.deepEqual(closeDecision(cfg, { ...base, now: 500, usable: 5 }), { close: true }, 'half of 10 is the quorum')
  assert.deepEqual(closeDecision(cfg, { ...base, now: 500, usable: 4 }), { close: false, wakeAt: 750 }, 'below the quorum: the last call')
  assert.deepEqual(closeDecision(cfg, { ...base, now: 750, usable: 1 }), { close: true }, 'one update rather than none')
  assert.deepEqual(closeDecision(cfg, { ...base, now: 990, usable: 0 }), { close: false, wakeAt: 750 }, 'nothing to close with')
  assert.deepEqual(closeDecision(cfg, { ...base, now: 500, usable: 5, minInputs: 7 }), { close: false, wakeAt: 750 }, 'the rule needs 7 inputs')
  assert.deepEqual(closeDecision(cfg, { ...base, now: 500, usable: 3, expected: 3, minInputs: 7 }), { close: true }, 'as far as the expected allow')
})
