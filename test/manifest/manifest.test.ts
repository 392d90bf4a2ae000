// Tests of the signed manifest: round trip, run id over every setting, typed refusals, settings agreement, a pinned example.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { RUN_SETTING_KEYS, parseRunSettings, type RunSettings } from '../../src/round/settings.js'
import {
  assertSettingsAgree, canonicalJson, checkSettingsAgree, createManifest, runIdOf, verifyManifest,
  ManifestError, ManifestErrorCode, SettingsDisagreeError
} from '../../src/manifest/index.js'
import { peer, manifestOf, CREATED_AT } from './fixtures.js'

const code = (c: ManifestErrorCode) => (err: unknown) => err instanceof ManifestError && err.code === c
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v))

/** A valid value different from the default, for every setting that has a choice. */
const OTHER: Partial<Record<keyof RunSettings, unknown>> = {
  seed: 2, innerSteps: 51, batch: 33, innerLr: 2e-3, codec: 'topk:0.03+q4', aggregateCodec: 'topk:0.01+q4', mode: 'aggregator',
  groupSize: 8, subAggregateCodec: 'topk:0.01+q4', rule: 'median', outerLr: 0.5, outerMomentum: 0.5, backups: 3, deadlineMs: 30_000,
  collectMs: 5_000, backupStepMs: 5_000, quorum: 0.5, restoreExcluded: false
}

test('a manifest survives JSON and verifies, settings written out with their defaults', async () => {
  const alice = await peer(1)
  const bob = await peer(2)
  const m = await manifestOf(alice, { members: [{ peerId: bob.id, capacity: 2 }, { peerId: alice.id }], settings: { quorum: 0.5 } })
  assert.deepEqual(m.body.members.map(x => x.peerId), [alice.id, bob.id].sort())
  assert.deepEqual(m.body.admins, [alice.id])
  assert.equal(m.body.minMembers, 2)
  assert.equal(m.body.settings.quorum, 0.5)
  assert.equal(m.body.settings.batch, 32)
  const text = JSON.stringify(m)
  const back = await verifyManifest(text)
  assert.deepEqual(back, m)
  assert.deepEqual(await verifyManifest(JSON.parse(text)), m)
})

test('the run id changes when any setting changes', async () => {
  const alice = await peer(1)
  const base = await manifestOf(alice)
  const seen = new Set([base.runId])
  for (const key of RUN_SETTING_KEYS) {
    if (!(key in OTHER)) {
      // a setting with one allowed value has nothing to change; adding a second must add it to OTHER
      assert.throws(() => parseRunSettings({ [key]: 'something-else' }), `setting ${key} has a choice: add it to OTHER`)
      continue
    }
    const m = await manifestOf(alice, { settings: { [key]: OTHER[key] } })
    assert.notEqual(m.body.settings[key], base.body.settings[key], key)
    assert.ok(!seen.has(m.runId), `run id unchanged by ${key}`)
    seen.add(m.runId)
  }
  // and when any other field changes
  for (const extra of [{ name: 'other' }, { minMembers: 2 }, { createdAt: '2025-01-01T00:00:00.001Z' }, { settings: { dpClipNorm: 1, dpNoiseMultiplier: 1 } }]) {
    const m = await manifestOf(alice, extra)
    assert.ok(!seen.has(m.runId), canonicalJson(extra))
    seen.add(m.runId)
  }
})

test('a tampered body is refused: run id mismatch, or bad signature once the run id is recomputed', async () => {
  const alice = await peer(1)
  const m = clone(await manifestOf(alice))
  m.body.settings.outerLr = 2
  await assert.rejects(verifyManifest(m), code(ManifestErrorCode.RunIdMismatch))
  await assert.rejects(verifyManifest({ ...m, runId: runIdOf(m.body) }), code(ManifestErrorCode.BadSignature))
})

test('a manifest signed by someone other than its creator is refused', async () => {
  const alice = await peer(1)
  const mallory = await peer(3)
  const real = await manifestOf(alice)
  const forged = clone(await manifestOf(mallory))
  // mallory's body names alice as creator, but only mallory can sign
  forged.body.creator = alice.id
  forged.body.admins = [alice.id, mallory.id].sort()
  const runId = runIdOf(forged.body)
  await assert.rejects(verifyManifest({ ...forged, runId }), code(ManifestErrorCode.BadSignature))
  // a genuine signature moved onto another body
  await assert.rejects(verifyManifest({ ...forged, runId, signature: real.signature }), code(ManifestErrorCode.BadSignature))
})

test('schema refusals name the field', async () => {
  const alice = await peer(1)
  const bob = await peer(2)
  const m = clone(await manifestOf(alice, { members: [{ peerId: alice.id }, { peerId: bob.id }] }))
  const refusedAt = async (edit: (b: any) => void, field: string): Promise<void> => {
    const x = clone(m)
    edit(x.body)
    await assert.rejects(verifyManifest({ ...x, runId: runIdOf(x.body) }), (err: ManifestError) => err.code === ManifestErrorCode.Schema && err.field === field)
  }
  await refusedAt(b => { delete b.settings.batch }, 'settings.batch')
  await refusedAt(b => { b.settings.extra = 1 }, 'settings.extra')
  await refusedAt(b => { b.settings.quorum = 2 }, 'settings.quorum')
  await refusedAt(b => { b.members.reverse() }, 'members.1')
  await refusedAt(b => { b.members[1] = b.members[0] }, 'members.1')
  await refusedAt(b => { b.admins = [bob.id] }, 'admins')
  await refusedAt(b => { b.version = 2 }, 'version')
  await refusedAt(b => { b.createdAt = '2025-01-01T00:00:00Z' }, 'createdAt')
  await refusedAt(b => { b.creator = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' }, 'creator')
  await refusedAt(b => { b.surplus = true }, 'surplus')
  await assert.rejects(verifyManifest('{not json'), code(ManifestErrorCode.Schema))
  await assert.rejects(verifyManifest({ ...m, signature: 'short' }), code(ManifestErrorCode.Schema))
})

test('only Ed25519 keys create manifests', async () => {
  const key = await generateKeyPair('secp256k1')
  await assert.rejects(createManifest({ name: 'x', createdAt: CREATED_AT }, key), code(ManifestErrorCode.BadKey))
})

test('checkSettingsAgree names each differing field; assertSettingsAgree refuses with all of them', async () => {
  const alice = await peer(1)
  const m = await manifestOf(alice, { settings: { codec: 'topk:0.03+q4', collectMs: 5_000 } })
  const same = parseRunSettings({ codec: 'topk:0.03+q4', collectMs: 5_000 })
  assert.deepEqual(checkSettingsAgree(m, same), [])
  assertSettingsAgree(m, same)
  const local = parseRunSettings({ codec: 'topk:0.03+q4', quorum: 0.5, mode: 'aggregator' })
  assert.deepEqual(checkSettingsAgree(m, local), [
    { field: 'mode', manifest: 'gossip', local: 'aggregator' },
    { field: 'collectMs', manifest: 5_000, local: undefined },
    { field: 'quorum', manifest: 0.75, local: 0.5 }
  ])
  assert.throws(() => assertSettingsAgree(m, local), (err: unknown) =>
    err instanceof SettingsDisagreeError && err.code === ManifestErrorCode.SettingsDisagree &&
    err.fields.join() === 'mode,collectMs,quorum' && /collectMs: manifest 5000, here \(unset\)/.test(err.message))
})

// The worked example of protocols/manifest.md: if this changes, the spec and every other implementation must change with it.
const GOLDEN_CANONICAL = '{"admins":["12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5"],"createdAt":"2025-01-01T00:00:00.000Z","creator":"12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5","members"' +
  ':[],"minMembers":1,"name":"tiny","settings":{"aggregateCodec":"int8","backups":2,"batch":32,"codec":"topk:0.01+q4","data":"mnist","deadlineMs":20000,"dpClipNorm":0,"dpDelta":0.0000' +
  '1,"dpNoiseMultiplier":0,"groupSize":16,"innerLr":0.001,"innerSteps":50,"maxNormRatio":5,"mode":"gossip","model":"mlp","outerLr":1,"outerMomentum":0.6,"quorum":0.75,"restoreExcluded' +
  '":true,"rule":"mean","seed":1,"subAggregateCodec":"int8"},"version":1}'
const GOLDEN_SHA256 = 'eb2a1b96905e8b6d8bcd9b18b0628245d6de55c09ee03d8b7aa8779750138d41'
const GOLDEN_RUN_ID = 'bagaaiera5mvbxfuql2fw3c6ntmmlayucixln4voat3qd3c32vb3zouatrvaq'
const GOLDEN_SIGNATURE = 'y6JIu2417yokCrIN7S6gm-Mm0UWHDPHnk0R6qBwbUSVbUVQ5SKvb3SJ3UPi3J31XP_eYsCyamExvyLlq3HrZAg'

test('the worked example of the spec is pinned', async () => {
  const m = await createManifest({ name: 'tiny', createdAt: CREATED_AT, minMembers: 1 }, (await peer(1)).key)
  assert.equal(canonicalJson(m.body), GOLDEN_CANONICAL)
  assert.equal(createHash('sha256').update(GOLDEN_CANONICAL).digest('hex'), GOLDEN_SHA256)
  assert.equal(m.runId, GOLDEN_RUN_ID)
  // Ed25519 signatures are deterministic, so the signature is pinned too
  assert.equal(m.signature, GOLDEN_SIGNATURE)
  await verifyManifest({ body: JSON.parse(GOLDEN_CANONICAL), runId: GOLDEN_RUN_ID, signature: GOLDEN_SIGNATURE })
})
