// `npm run bench -- storage [--rounds=N]`: disk use of one real daemon over many fast rounds (one
// member, one inner step): blobs/ sampled every 100 ms against keepRounds × the largest blob.
// test/e2e/storage.test.ts asserts the same bound over fewer rounds.
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalCluster, sleep } from '../src/daemon/cluster.js'

const KEEP_ROUNDS = 3

export async function benchStorage (opts: { json: boolean }): Promise<object> {
  const arg = process.argv.find(a => a.startsWith('--rounds='))
  const rounds = arg != null ? Number(arg.slice('--rounds='.length)) : 200
  const c = await LocalCluster.create({
    nodes: 1,
    rounds,
    config: { threads: 1, innerSteps: 1, deadlineMs: 400, collectMs: 200, backupStepMs: 200, keepRounds: KEEP_ROUNDS }
  })
  const blobs = join(c.nodes[0].dataDir, 'blobs')
  const started = Date.now()
  let worst = { round: -1, bytes: 0, files: 0 }
  let largest = 0
  let samples = 0
  const byQuarter: number[] = [0, 0, 0, 0]
  try {
    await c.start(0)
    let round = -1
    while (c.running(0)) {
      const h = await c.rounds(0)
      if (h.length > 0) round = h[h.length - 1].round
      let bytes = 0
      let files = 0
      for (const name of await readdir(blobs)) {
        try { const size = (await stat(join(blobs, name))).size; bytes += size; files++; largest = Math.max(largest, size) } catch {}
      }
      samples++
      if (bytes > worst.bytes) worst = { round, bytes, files }
      const q = Math.min(3, Math.max(0, Math.floor(4 * round / rounds)))
      byQuarter[q] = Math.max(byQuarter[q], bytes)
      await sleep(100)
    }
    await c.waitExit(0, 30_000)
  } finally {
    await c.stopAll()
    await rm(c.dir, { recursive: true, force: true })
  }
  const wallS = (Date.now() - started) / 1000
  const bound = (KEEP_ROUNDS + 3) * largest * 1.1
  const result = { rounds, keepRounds: KEEP_ROUNDS, samples, wallS, largestBlobBytes: largest, worst, maxBytesByQuarter: byQuarter, boundBytes: bound, withinBound: worst.bytes <= bound }
  if (!opts.json) {
    const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`
    process.stdout.write(`storage: ${rounds} rounds in ${wallS.toFixed(0)} s, ${samples} samples of blobs/\n`)
    process.stdout.write(`  largest blob ${mb(largest)}; worst ${mb(worst.bytes)} (${worst.files} files, round ${worst.round}); bound (keepRounds + 3) × largest × 1.1 = ${mb(bound)}\n`)
    process.stdout.write(`  max per quarter of the run: ${byQuarter.map(mb).join(', ')}\n`)
  }
  return result
}
