// `tapestry` command line: wires commands; every failure ends as one clear line and exit code 1.
import { Command, CommanderError } from 'commander'
import { registerTrain } from './commands/train.js'
import { registerSim } from './commands/sim.js'
import { registerNode } from './commands/node.js'
import { registerDemo } from './commands/demo.js'
import { registerRun } from './commands/run.js'
import { registerExport } from './commands/export.js'
import { registerEvidence } from './commands/evidence.js'
import { registerHistory } from './commands/history.js'
import { registerContributions } from './commands/contributions.js'
import { registerLogs } from './commands/logs.js'
import { registerCatalog } from './commands/catalog.js'
import { readFileSync } from 'node:fs'

const EXIT_BACKSTOP_MS = 2_000

/** this package's version, read once from its package.json (two levels above dist/src/cli) */
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version

const program = new Command()
program.name('tapestry')
  .version(`tapestry ${VERSION} (node ${process.versions.node})`, '-V, --version', 'print the version and exit')
  .description('peer-to-peer federated training: local ONNX training, compressed updates, elected aggregators')
  .showHelpAfterError(false)
  .exitOverride()
registerTrain(program)
registerSim(program)
registerNode(program)
registerDemo(program)
registerRun(program)
registerExport(program)
registerEvidence(program)
registerHistory(program)
registerContributions(program)
registerLogs(program)
registerCatalog(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // help and version are not failures
    process.exitCode = err.exitCode
  } else {
    const e = err as { code?: string, message?: string }
    process.exitCode = 1
    // a failed start can leave the ONNX Runtime worker or libp2p's sockets holding the event
    // loop: a supervisor must see the exit, so leave once the line is out (the timer if it never is)
    setTimeout(() => process.exit(1), EXIT_BACKSTOP_MS).unref()
    process.stderr.write(`tapestry: ${e.message ?? String(err)}${e.code != null ? ` [${e.code}]` : ''}\n`, () => process.exit(1))
  }
}
