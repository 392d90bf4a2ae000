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

test('rejects malformed text with ERR_DATA_PARTITION_SYNTAX', () => {
  for (const bad of ['', 'noniid', 'dirichlet', 'dirichlet:', 'iid:0.5', 'dirichlet 0.5 0.3', 'label-skew:2']) {
    assert.throws(() => parsePartition(bad), (e: unknown) => e instanceof PartitionParseError && e.code === DataErrorCode.PartitionSyntax && e.input === bad, bad)
  }
})

test('rejects a bad alpha with ERR_DATA_PARTITION_ALPHA', () => {
  for (const bad of ['dirichlet:0', 'dirichlet:-1', 'dirichlet:abc', 'dirichlet:0.5abc', 'dirichlet:Infinity', 'dirichlet:NaN']) {
    assert.throws(() => parsePartition(bad), (e: unknown) => e instanceof PartitionParseError && e.code === DataErrorCode.PartitionAlpha, bad)
  }
  assert.throws(() => validatePartition({ kind: 'dirichlet', alpha: 0 }), { code: DataErrorCode.PartitionAlpha })
  assert.throws(() => validatePartition({ kind: 'zipf' } as never), { code: DataErrorCode.PartitionSyntax })
})

test('formatPartition and parsePartition round-trip', () => {
  fc.assert(fc.property(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), alpha => {
    assert.deepEqual(parsePartition(formatPartition({ kind: 'dirichlet', alpha })), { kind: 'dirichlet', alpha })
  }))
  assert.equal(formatPartition(parsePartition('iid')), 'iid')
})
