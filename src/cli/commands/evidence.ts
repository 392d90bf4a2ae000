// `tapestry evidence`: the signed evidence records a node keeps of faults it proved, each checked
// again from its own signatures — offline, from the data directory, with or without the daemon.
import type { Command } from 'commander'
import { table } from '../table.js'
import { DEFAULT_DATA_DIR, dataDirPaths } from '../../daemon/datadir.js'
import { loadRun } from '../../daemon/run-files.js'
import { readFile } from 'node:fs/promises'

interface Row { file: string, kind?: string, round?: number, accused?: string, reporter?: string, verdict: 'proven' | 'reported' | 'invalid', detail: string }

export function registerEvidence (program: Command): void {
  program.command('evidence')
    .description('list the signed evidence records this node keeps (wrong folds, censoring commits, two commits for one round) and check each from its signatures')
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('--file <record.json>', 'check one record (e.g. one a partner sent) against this node\'s run instead')
    .option('--json', 'print one JSON object per record', false)
    .action(async (o: Record<string, unknown>) => {
      const { EvidenceStore, checkEvidence } = await import('../../daemon/evidence.js')
      const paths = dataDirPaths(String(o.dataDir))
      const runId = (await loadRun(paths)).runId
      const records = o.file != null
        ? [await readFile(String(o.file), 'utf8').then(t => ({ file: String(o.file), value: JSON.parse(t) as unknown }), err => ({ file: String(o.file), value: undefined, error: (err as Error).message }))]
        : await new EvidenceStore(paths.evidence).list()
      const rows: Row[] = []
      for (const r of records) {
        if ('error' in r && r.error !== undefined) { rows.push({ file: r.file, verdict: 'invalid', detail: r.error }); continue }
        try {
          const c = await checkEvidence(r.value, runId)
          rows.push({ file: r.file, kind: c.evidence.kind, round: c.evidence.round, accused: c.evidence.accused, reporter: c.evidence.reporter, verdict: c.verdict, detail: c.detail })
        } catch (err) {
          rows.push({ file: r.file, verdict: 'invalid', detail: (err as Error).message })
        }
      }
      if (o.json === true) {
        for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n')
      } else if (rows.length === 0) {
        process.stdout.write(`no evidence in ${paths.evidence}\n`)
      } else {
        const t = table({ head: ['round', 'kind', 'accused', 'verdict', 'detail'], wordWrap: true, colWidths: [7, 14, 16, 10, 60] })
        for (const r of rows) t.push([r.round ?? '-', r.kind ?? '-', r.accused != null ? `…${r.accused.slice(-12)}` : '-', r.verdict, r.detail])
        process.stdout.write(t.toString() + '\n')
      }
      // a record that does not check out is the caller's business to look at: say so in the exit code
      if (rows.some(r => r.verdict === 'invalid')) process.exitCode = 1
    })
}
