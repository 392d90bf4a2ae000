// Tests of partition parsing: accepted spellings, round trip, and typed errors with stable codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parsePartition, formatPartition, validatePartition, DataErrorCode, PartitionParseError } from '../../src/data/index.js'

test('parses iid and dirichlet in the accepted spellings', () => {
  assert.deepEqual(parsePartition('iid'), { kind: 'iid' })
  assert.deepEqual(parsePartition(' IID '), { kind: 'iid' })
  assert.deepEqual(parsePartition('dirichlet:0.5'), { kind: 'dirichlet', alpha: 0.5 })
  assert.deepEqual(parsePartition('Dirichlet:1e-2'), { kind: 'dirichlet', alpha: 0.01 })
  assert.deepEqual(parsePartition('dirichlet(0.1)'), { kind: 'dirichlet', alpha: 0.1 })
  assert.deepEqual(parsePartition('dirichlet=100'), { kind: 'dirichlet', alpha: 100 })
})

test('parses whole-group partitions: speaker, era, group:<name>', () => {
  assert.deepEqual(parsePartition('speaker'), { kind: 'group', by: 'speaker' })
  assert.deepEqual(parsePartition(' ERA '), { kind: 'group', by: 'era' })
  assert.deepEqual(parsePartition('group:party'), { kind: 'group', by: 'party' })
  assert.deepEqual(parsePartition('group(speaker)'), { kind: 'group', by: 'speaker' })
  assert.deepEqual(parsePartition('Group=Era'), { kind: 'group', by: 'era' })
  assert.equal(formatPartition({ kind: 'group', by: 'speaker' }), 'speaker')
  assert.equal(formatPartition({ kind: 'group', by: 'era' }), 'era')
  assert.equal(formatPartition({ kind: 'group', by: 'party' }), 'group:party')
  assert.deepEqual(validatePartition({ kind: 'group', by: 'era' }), { kind: 'group', by: 'era' })
})

test('rejects malformed text with ERR_DATA_PARTITION_SYNTAX', () => {
  for (const bad of [
    '', 'noniid', 'dirichlet', 'dirichlet:', 'iid:0.5', 'dirichlet 0.5 0.3', 'label-skew:2',
    'speakers', 'speaker:2', 'era:50', 'group', 'group:', 'group:9lives', 'group:a.b', 'group:speaker era'
  ]) {
    assert.throws(() => parsePartition(bad), (e: unknown) => e instanceof PartitionParseError && e.code === DataErrorCode.PartitionSyntax && e.input === bad, bad)
  }
})

test('rejects a bad alpha with ERR_DATA_PARTITION_ALPHA', () => {
  for (const bad of ['dirichlet:0', 'dirichlet:-1', 'dirichlet:abc', 'dirichlet:0.5abc', 'dirichlet:Infinity', 'dirichlet:NaN']) {
    assert.throws(() => parsePartition(bad), (e: unknown) => e instanceof PartitionParseError && e.code === DataErrorCode.PartitionAlpha, bad)
  }
  assert.throws(() => validatePartition({ kind: 'dirichlet', alpha: 0 }), { code: DataErrorCode.PartitionAlpha })
  assert.throws(() => validatePartition({ kind: 'zipf' } as never), { code: DataErrorCode.PartitionSyntax })
  assert.throws(() => validatePartition({ kind: 'group', by: '' }), { code: DataErrorCode.PartitionSyntax })
  assert.throws(() => validatePartition({ kind: 'group', by: 'Speaker' }), { code: DataErrorCode.PartitionSyntax })
  assert.throws(() => validatePartition({ kind: 'group' } as never), { code: DataErrorCode.PartitionSyntax })
})

test('formatPartition and parsePartition round-trip', () => {
  fc.assert(fc.property(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), alpha => {
    assert.deepEqual(parsePartition(formatPartition({ kind: 'dirichlet', alpha })), { kind: 'dirichlet', alpha })
  }))
  assert.equal(formatPartition(parsePartition('iid')), 'iid')
  fc.assert(fc.property(fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/), by => {
    const p = { kind: 'group', by } as const
    assert.deepEqual(parsePartition(formatPartition(p)), p)
    assert.deepEqual(validatePartition(p), p)
  }))
  for (const text of ['iid', 'dirichlet:0.5', 'speaker', 'era', 'group:party']) assert.equal(formatPartition(parsePartition(text)), text)
})
