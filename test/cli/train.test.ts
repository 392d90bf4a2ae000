// End-to-end: the real `tapestry train` process on MNIST, and its refusals of bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tapestry } from './helpers.js'

test('MLP 784-256-10 reaches ≥ 90% test accuracy within 600 steps at batch 64', () => {
  const r = tapestry('train', '--model', 'mlp', '--data', 'mnist', '--steps', '600', '--batch', '64', '--device', 'cpu', '--seed', '3', '--json')
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Record<string, unknown>
  for (const k of ['model', 'params', 'steps', 'finalLoss', 'testAccuracy', 'stepsPerSecond', 'device']) assert.ok(k in out, `missing ${k}`)
  assert.equal(out.params, 784 * 256 + 256 + 256 * 10 + 10)
  assert.equal(out.device, 'cpu')
  assert.ok((out.testAccuracy as number) >= 0.9, `accuracy ${String(out.testAccuracy)}`)
})

test('save then load continues from the checkpoint; a corrupt checkpoint is one clear error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-cli-'))
  try {
    const ck = join(dir, 'm.ck')
    assert.equal(tapestry('train', '--steps', '64', '--device', 'cpu', '--save', ck, '--json').code, 0)
    const cont = tapestry('train', '--steps', '16', '--device', 'cpu', '--load', ck, '--json')
    assert.equal(cont.code, 0, cont.stderr)
    const bad = join(dir, 'bad.ck')
    await writeFile(bad, 'definitely not a checkpoint, just some bytes here')
    const r = tapestry('train', '--steps', '16', '--device', 'cpu', '--load', bad)
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /corrupt checkpoint/)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  } finally { await rm(dir, { recursive: true }) }
})

for (const [args, pattern] of [
  [['--model', 'resnet'], /unknown --model "resnet"/],
  [['--data', 'cifar'], /unknown --data "cifar"/],
  [['--device', 'tpu'], /unknown device "tpu"/],
  [['--steps', '-5'], /--steps must be between/],
  [['--batch', 'abc'], /--batch must be an integer/],
  [['--lr', 'NaN'], /--lr must be a finite number/]
] as const) {
  test(`bad input ${args.join(' ')} exits non-zero with one line`, () => {
    const r = tapestry('train', ...args)
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, pattern)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
  })
}
