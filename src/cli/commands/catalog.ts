// `tapestry catalog`: what each member says of its data (name, language, licence, size — never
// the data), read by the running daemon from the run's DHT, every record's signature checked.
import type { Command } from 'commander'
import { DEFAULT_DATA_DIR } from '../../daemon/datadir.js'
import { table } from '../table.js'
import { query } from './node.js'

export function registerCatalog (program: Command): void {
  program.command('catalog')
    .description("the run's data catalog: each member's signed description of its data from the run's DHT (publish yours with the config field catalog, e.g. --set 'catalog={\"name\":\"ward notes\",\"language\":\"de\",\"licence\":\"CC-BY-4.0\"}')")
    .option('--data-dir <dir>', 'node data directory (its daemon must run: the catalog lives in the DHT)', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON object', false)
    .action(async (o: { dataDir: string, json: boolean }) => {
      const c = await query(o.dataDir, 'catalog')
      if (o.json) { process.stdout.write(JSON.stringify(c) + '\n'); return }
      const t = table({ head: ['member', 'name', 'language', 'licence', 'kind', 'size', 'published'] })
      for (const e of c.entries) t.push([e.peerId, e.name, e.language ?? '-', e.licence ?? '-', e.kind, e.kind === 'text' ? `${e.size} bytes` : `${e.size} rows`, new Date(e.at).toISOString()])
      process.stdout.write(t.toString() + '\n')
      if (c.missing.length > 0) process.stdout.write(`no record from ${c.missing.length} member(s): ${c.missing.join(', ')}\n`)
    })
}
