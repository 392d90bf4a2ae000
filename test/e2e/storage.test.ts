// Storage stays bounded while a daemon runs: blobs/ holds about keepRounds rounds of blobs, sampled
// throughout a run of many fast rounds (one member, one inner step), not just at the end.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalCluster } from '../../src/daemon/cluster.js'

/** Rounds in the test; bench/storage.ts runs 200 (too slow for the suite on a shared 2-core VM). */
const ROUNDS = Number(process.env.TAPESTRY_STORAGE_ROUNDS ?? 50)
const KEEP_ROUNDS = 3

const FAST = {
  threads: 1,
  innerSteps: 1,
  deadlineMs: 400,
  collectMs: 200,
  backupStepMs: 200,
  keepRounds: KEEP_ROUNDS
}

const clusters: LocalCluster[] = []
after(async () => {
  for (const c of clusters) {
    await c.stopAll()
    await rm(c.dir, { recursive: true, force: true })
  }
})

/** Total bytes of the blob files (temp files included: they are disk use too), and the largest one. */
async function dirBytes (dir: string): Promise<{ bytes: number, files: number, largest: number }> {
  let bytes = 0
  let files = 0
  let largest = 0
  for (const name of await readdir(dir)) {
    try {
      const size = (await stat(join(dir, name))).size
      bytes += size
      largest = Math.max(largest, size)
      files++
    } catch {} // gc removed it meanwhile
  }
  return { bytes, files, largest }
}

test(`blobs/ stays within keepRounds (${KEEP_ROUNDS}) rounds of blobs over ${ROUNDS} rounds`, { timeout: 600_000 }, async () => {
  const c = await LocalCluster.create({ nodes: 1, rounds: ROUNDS, config: FAST })
  clusters.push(c)
  const blobs = join(c.nodes[0].dataDir, 'blobs')
  await c.start(0)
  const samples: Array<{ round: number, bytes: number, files: number, largest: number }> = []
  let round = -1
  while (c.running(0)) {
    const rounds = await c.rounds(0)
    if (rounds.length > 0) round = rounds[rounds.length - 1].round
    samples.push({ round, ...await dirBytes(blobs) })
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  assert.equal(await c.waitExit(0, 30_000), 0)
  assert.ok(round >= ROUNDS - 1, `last round seen ${round}`)
  // a round leaves its state blob (params + momentum: the largest by far), its update and the
  // commit's aggregate; gc runs after the next state is published, so keepRounds + 2 rounds can be
  // on disk at once, one more for the blob a restarted boot republishes; the margin covers the small ones
  const largest = Math.max(...samples.map(s => s.largest))
  const bound = (KEEP_ROUNDS + 3) * largest * 1.1
  const worst = samples.reduce((a, b) => b.bytes > a.bytes ? b : a)
  const last = samples[samples.length - 1]
  process.stdout.write(`# ${samples.length} samples over ${ROUNDS} rounds: largest blob ${(largest / 1e6).toFixed(2)} MB, worst ${(worst.bytes / 1e6).toFixed(2)} MB (${worst.files} files, round ${worst.round}), last ${(last.bytes / 1e6).toFixed(2)} MB, bound ${(bound / 1e6).toFixed(2)} MB\n`)
  assert.ok(samples.filter(s => s.round >= 2 * KEEP_ROUNDS).length >= 10, 'sampled while the run was going')
  for (const s of samples) assert.ok(s.bytes <= bound, `round ${s.round}: blobs/ ${s.bytes} B > bound ${bound} B`)
})
