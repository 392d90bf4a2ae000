// Layout refusals carry ERR_TENSOR_LAYOUT; tests branch on the code, never on message text.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLayout, LayoutError, TensorErrorCode } from '../../src/tensor/index.js'

const refused = (e: unknown): boolean => e instanceof LayoutError && e.code === TensorErrorCode.LAYOUT

test('a layout that cannot be built, or a vector that does not fit it, is refused with ERR_TENSOR_LAYOUT', () => {
  assert.throws(() => createLayout([{ name: 'w', shape: [2] }, { name: 'w', shape: [3] }]), refused)
  assert.throws(() => createLayout([{ name: 'w', shape: [0] }]), refused)
  assert.throws(() => createLayout([{ name: 'w', shape: [1.5] }]), refused)
  assert.equal(createLayout([{ name: 'w', shape: [2, 3] }, { name: 'b', shape: [3] }]).total, 9)
})
