// End-to-end: the real `tapestry train` process on MNIST, and its refusals of bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertRefused, tapestry } from './helpers.js'

test('MLP 784-256-10 reaches ≥ 90% test accuracy within 600 steps at batch 64', () => {
  const r = tapestry('train', '--model', 'mlp', '--data', 'mnist', '--steps', '600', '--batch', '64', '--device', 'cpu', '--seed', '3', '--json')
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Record<string, unknown>
  for (const k of ['model', 'params', 'steps', 'finalLoss', 'testAccuracy', 'stepsPerSecond', 'device']) assert.ok(k in out, `missing ${k}`)
  assert.equal(out.params, 784 * 256 + 256 + 256 * 10 + 10)
  assert.equal(out.device, 'cpu')
  assert.ok((out.testAccuracy as number) >= 0.9, `accuracy ${String(out.testAccuracy)}`)
})

test('--load starts from the saved parameters; a corrupt checkpoint is one line with its code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-cli-'))
  const json = (r: ReturnType<typeof tapestry>): { testAccuracy: number } => {
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as { testAccuracy: number }
  }
  try {
    const ck = join(dir, 'm.ck')
    const saved = json(tapestry('train', '--steps', '64', '--device', 'cpu', '--save', ck, '--json'))
    // one step at a vanishing learning rate: what is evaluated is the model the run started from
    const still = ['--steps', '1', '--lr', '1e-12', '--optimizer', 'sgd', '--device', 'cpu', '--json']
    const loaded = json(tapestry('train', ...still, '--load', ck))
    const fresh = json(tapestry('train', ...still))
    assert.ok(saved.testAccuracy > 0.5, `the saved model learned something (${saved.testAccuracy})`)
    assert.ok(Math.abs(loaded.testAccuracy - saved.testAccuracy) < 1e-3, `loaded ${loaded.testAccuracy} vs saved ${saved.testAccuracy}`)
    assert.ok(fresh.testAccuracy < saved.testAccuracy - 0.2, `without --load: ${fresh.testAccuracy}`)

    const bad = join(dir, 'bad.ck')
    await writeFile(bad, 'definitely not a checkpoint, just some bytes here')
    const r = tapestry('train', '--steps', '16', '--device', 'cpu', '--load', bad)
    assert.equal(r.code, 1)
    assertRefused(r, 'ERR_TRAIN_CHECKPOINT_CORRUPT')
    assert.equal(r.stdout, '')
  } finally { await rm(dir, { recursive: true }) }
})

for (const [args, code, names] of [
  [['--model', 'resnet'], 'ERR_CLI_USAGE', '--model'],
  [['--data', 'cifar'], 'ERR_CLI_USAGE', '--data'],
  [['--device', 'tpu'], 'ERR_TRAIN_BAD_DEVICE', 'tpu'],
  [['--steps', '-5'], 'ERR_CLI_USAGE', '--steps'],
  [['--batch', 'abc'], 'ERR_CLI_USAGE', '--batch'],
  [['--lr', 'NaN'], 'ERR_CLI_USAGE', '--lr']
] as const) {
  test(`bad input ${args.join(' ')} exits non-zero with one line ending in [${code}]`, () => {
    assertRefused(tapestry('train', ...args), code, names)
  })
}
