// `tapestry contributions`: the contribution ledger of a node's chain (who contributed accepted
// updates in which rounds, with samples and bytes), read and checked offline from the signed commits.
import type { Command } from 'commander'
import { table } from '../table.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_DATA_DIR, dataDirPaths } from '../../daemon/datadir.js'
import { loadRun } from '../../daemon/run-files.js'
import type { StoredCommit } from '../../daemon/chain-store.js'

export function registerContributions (program: Command): void {
  program.command('contributions')
    .description('who contributed accepted updates in which rounds, with samples and bytes: the ledger of the signed commit chain, each commit\'s signature checked (works with the daemon stopped)')
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON object', false)
    .action(async (o: { dataDir: string, json: boolean }) => {
      const paths = dataDirPaths(o.dataDir)
      const manifest = await loadRun(paths)
      // read, never opened for writing: the daemon may be appending (a torn last line is skipped)
      const text = await readFile(join(paths.chain, 'commits.jsonl'), 'utf8').catch(() => '')
      const chain: StoredCommit[] = []
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue
        try { chain.push(JSON.parse(line) as StoredCommit) } catch {}
      }
      const { ledgerOf } = await import('../../daemon/ledger.js')
      const ledger = await ledgerOf(chain, manifest.runId)
      if (o.json) { process.stdout.write(JSON.stringify(ledger) + '\n'); return }
      if (ledger.rounds == null) { process.stdout.write(`no commits yet in ${paths.chain}\n`); return }
      process.stdout.write(`run ${manifest.body.name} (${manifest.runId}): ${ledger.commits} signed commits, rounds ${ledger.rounds.first}–${ledger.rounds.last}, every signature checked\n`)
      const t = table({ head: ['member', 'rounds', 'first', 'last', 'samples', 'bytes', 'aggregated'] })
      for (const m of ledger.members) {
        t.push([m.peerId, String(m.rounds), m.firstRound >= 0 ? String(m.firstRound) : '-', m.lastRound >= 0 ? String(m.lastRound) : '-', String(m.samples),
          m.unsized > 0 ? `${m.bytes} (+${m.unsized} unsized)` : String(m.bytes), String(m.aggregated)])
      }
      process.stdout.write(t.toString() + '\n')
    })
}
