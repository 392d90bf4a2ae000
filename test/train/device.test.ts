import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseDeviceRequest, resolveDevice, TrainError, TrainErrorCode } from '../../src/train/index.js'

const never = async (): Promise<unknown> => { throw new Error('no CUDA here') }
const ok = async (): Promise<unknown> => ({})

test('device requests parse, unknown ones are refused', () => {
  assert.equal(parseDeviceRequest('auto'), 'auto')
  assert.throws(() => parseDeviceRequest('tpu'), (e: TrainError) => e.code === TrainErrorCode.BadDevice)
})

test('auto falls back to CPU with the reason; explicit cuda fails clearly', async () => {
  const m = new Uint8Array(0)
  assert.deepEqual(await resolveDevice('cpu', m, never), { device: 'cpu', reason: 'requested' })
  const notInstalled = await resolveDevice('auto', m, never, () => false)
  assert.equal(notInstalled.device, 'cpu')
  assert.match(notInstalled.reason, /not installed/)
  const failing = await resolveDevice('auto', m, never, () => true)
  assert.equal(failing.device, 'cpu')
  assert.match(failing.reason, /no CUDA here/)
  assert.equal((await resolveDevice('auto', m, ok, () => true)).device, 'cuda')
  await assert.rejects(resolveDevice('cuda', m, never, () => false), (e: TrainError) => e.code === TrainErrorCode.DeviceUnavailable)
  await assert.rejects(resolveDevice('cuda', m, never, () => true), (e: TrainError) => e.code === TrainErrorCode.DeviceUnavailable)
})
