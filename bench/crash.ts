// `npm run bench -- crash [--kills=N] [--nodes=N]`: the crash drill of test/e2e/crash.test.ts at a
// larger scale: real daemons SIGKILLed at seeded random moments; restart time and rolled-back commits.
import { rm } from 'node:fs/promises'
import { LocalCluster } from '../src/daemon/cluster.js'
import { crashDrill, FAST } from '../test/e2e/crash-drill.js'

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find(x => x.startsWith(`--${name}=`))
  return a != null ? Number(a.slice(name.length + 3)) : dflt
}

export async function benchCrash (opts: { json: boolean }): Promise<object> {
  const kills = arg('kills', 50)
  const nodes = arg('nodes', 3)
  const c = await LocalCluster.create({ nodes, rounds: 0, config: FAST })
  try {
    const r = await crashDrill(c, { nodes, kills, seed: 'crash-bench', log: opts.json ? undefined : line => process.stdout.write(`  ${line}\n`) })
    const restart = r.kills.map(k => k.restartMs).sort((a, b) => a - b)
    const result = {
      kills,
      nodes,
      wallS: r.ms / 1000,
      restartMs: { p50: restart[Math.floor(restart.length / 2)], max: restart[restart.length - 1] },
      killsWithCommitsDropped: r.kills.filter(k => k.dropped > 0).length,
      tornTails: r.kills.filter(k => k.persisted.tornTail).length,
      agreed: r.agreed
    }
    if (!opts.json) {
      process.stdout.write(`crash: ${kills} SIGKILLs over ${nodes} daemons in ${result.wallS.toFixed(0)} s; every restart resumed at its snapshot's round, no store corrupt\n`)
      process.stdout.write(`  restart to control API: p50 ${result.restartMs.p50} ms, max ${result.restartMs.max} ms; ${result.killsWithCommitsDropped} kills fell between a commit and its snapshot; ${result.tornTails} torn log tails\n`)
      process.stdout.write(`  afterwards every node applied round ${r.agreed.round} with model ${r.agreed.modelId}\n`)
    }
    return result
  } finally {
    await c.stopAll()
    await rm(c.dir, { recursive: true, force: true })
  }
}
