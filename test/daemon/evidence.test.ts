// Evidence records: made from the accused's own signed envelopes, signed by the reporter, checked by
// anyone; kept in the data dir (bounded) and listed by `tapestry evidence`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createRun } from '../../src/daemon/create-run.js'
import { dataDirPaths } from '../../src/daemon/datadir.js'
import { DaemonErrorCode } from '../../src/daemon/errors.js'
import { EvidenceStore, checkEvidence, makeEvidence } from '../../src/daemon/evidence.js'
import { encodeAnnounce, encodeCommit } from '../../src/net/index.js'
import { CID_A, CID_B } from '../net/helpers.js'
import { tapestry } from '../cli/helpers.js'
import type { Commit } from '../../src/round/index.js'

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')

test('evidence: equivocation and censorship are proven by the accused\'s signatures, a refold is reported, forgeries are refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-evidence-'))
  try {
    const { manifest } = await createRun(dir, { name: 'evidence', createdAt: new Date('2026-01-01T00:00:00.000Z') })
    const runId = manifest.runId
    const [accusedKey, reporterKey, victimKey] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const accused = peerIdFromPrivateKey(accusedKey).toString()
    const victim = peerIdFromPrivateKey(victimKey).toString()
    const commit: Commit = { runId, round: 4, aggregator: accused, rank: 0, prevModelId: CID_A, newModelId: CID_B, aggregateId: '', included: [{ updateId: CID_A, peerId: accused, samples: 1, capacity: 1 }] }
    const one = await encodeCommit(commit, accusedKey, accused)
    const two = await encodeCommit({ ...commit, newModelId: CID_A }, accusedKey, accused)
    const base = { runId, round: 4, accused, code: 'X', reason: 'test' }

    const equivocation = await makeEvidence({ ...base, kind: 'equivocation', commits: [b64(one), b64(two)] }, reporterKey)
    assert.equal((await checkEvidence(JSON.parse(JSON.stringify(equivocation)), runId)).verdict, 'proven')

    const announce = await encodeAnnounce({ runId, round: 4, peerId: victim, updateId: CID_B, baseModelId: CID_A, samples: 1, codec: 'fp32', size: 10, capacity: 1 }, victimKey, victim)
    const censorship = await makeEvidence({ ...base, kind: 'censorship', commits: [b64(one)], announce: b64(announce) }, reporterKey)
    assert.equal((await checkEvidence(censorship, runId)).verdict, 'proven')
    const wrongFold = await makeEvidence({ ...base, kind: 'wrong-fold', commits: [b64(one)] }, reporterKey)
    assert.equal((await checkEvidence(wrongFold, runId)).verdict, 'reported')

    const refused = async (v: unknown, what: string): Promise<void> => {
      await assert.rejects(checkEvidence(v, runId), (e: { code?: string }) => e.code === DaemonErrorCode.BadEvidence, what)
    }
    await refused({ ...equivocation, commits: [b64(one), b64(one)] }, 'one commit twice is no equivocation (and the signature breaks)')
    await refused(await makeEvidence({ ...base, kind: 'equivocation', commits: [b64(one), b64(one)] }, reporterKey), 'one commit twice')
    await refused({ ...wrongFold, reason: 'edited' }, 'reporter signature')
    await refused(await makeEvidence({ ...base, accused: victim, kind: 'wrong-fold', commits: [b64(one)] }, reporterKey), 'commit signed by someone else than the accused')
    const tampered = Buffer.from(one); tampered[tampered.length - 1] ^= 1
    await refused(await makeEvidence({ ...base, kind: 'wrong-fold', commits: [b64(tampered)] }, reporterKey), 'accused signature')
    await refused({ ...wrongFold, version: 2 }, 'schema')
    await assert.rejects(checkEvidence(wrongFold, 'bafkreiother'), { code: DaemonErrorCode.BadEvidence })

    // kept once per record, listed, and checked by the CLI (exit 1 when one does not hold up)
    const store = new EvidenceStore(dataDirPaths(dir).evidence)
    assert.equal(await store.add(equivocation), true)
    assert.equal(await store.add(equivocation), false, 'a copy is one record')
    assert.equal(await store.add(censorship), true)
    const ok = tapestry('evidence', '--data-dir', dir, '--json')
    assert.equal(ok.code, 0, ok.stderr)
    const rows = ok.stdout.trim().split('\n').map(l => JSON.parse(l) as { kind: string, verdict: string })
    assert.deepEqual(rows.map(r => [r.kind, r.verdict]).sort(), [['censorship', 'proven'], ['equivocation', 'proven']])
    await writeFile(join(dataDirPaths(dir).evidence, 'forged.json'), JSON.stringify({ ...wrongFold, accused: victim }))
    const bad = tapestry('evidence', '--data-dir', dir)
    assert.equal(bad.code, 1)
    assert.match(bad.stdout, /invalid/)
  } finally {
    await rm(dir, { recursive: true })
  }
})
