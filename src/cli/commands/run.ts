// `tapestry run create | admit | remove | show`: the signed manifest of a closed run and who belongs to it.
import type { Command } from 'commander'
import { table } from '../table.js'
import { admit, changeMembership, verifyRosterDoc, canonicalJson, isCanonicalPeerId, type RosterDoc, type SignedManifest } from '../../manifest/index.js'
import { DEFAULT_DATA_DIR, dataDirPaths, loadIdentity } from '../../daemon/datadir.js'
import { createRun } from '../../daemon/create-run.js'
import { loadRoster, loadRun, manifestJson, readManifestFile, saveRosterDoc } from '../../daemon/run-files.js'
import { DaemonError, DaemonErrorCode } from '../../daemon/errors.js'
import { configFromFlags, query } from './node.js'
import { parseIntFlag } from '../parse.js'
import { UsageError } from '../errors.js'
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { loadOnnxModelFile, onnxRef } from '../../train/index.js'

const list = (v: string): string[] => v.split(',').map(s => s.trim()).filter(s => s !== '')

function peerArg (id: string): string {
  if (!isCanonicalPeerId(id)) throw new UsageError(`"${id}" is not an Ed25519 peer id (12D3KooW…, as \`tapestry init\` prints it)`)
  return id
}

/** A founding member as `--members` takes it: a peer id, optionally `=<samples>` (its declared fold weight). */
function memberArg (spec: string): { peerId: string, samples?: number } {
  const at = spec.indexOf('=')
  if (at < 0) return { peerId: peerArg(spec) }
  return { peerId: peerArg(spec.slice(0, at)), samples: parseIntFlag(`samples of ${spec.slice(0, at)}`, spec.slice(at + 1), 1) }
}

/** The daemon's current round, or undefined when none runs for the data dir. */
async function daemonRound (dataDir: string): Promise<number | undefined> {
  try { return (await query(dataDir, 'status')).round } catch { return undefined }
}

/** Keep a document this admin signed; hand it to the running daemon (which gossips it) if there is one. */
async function deliver (dataDir: string, manifest: SignedManifest, doc: unknown, out: string | undefined, json: boolean): Promise<void> {
  const checked: RosterDoc = await verifyRosterDoc(manifest, doc, Date.now())
  await saveRosterDoc(dataDirPaths(dataDir), checked)
  if (out != null) await writeFile(out, JSON.stringify(doc, null, 2) + '\n')
  let recipients: number | null = null
  try {
    recipients = (await query(dataDir, 'membership', doc)).recipients
  } catch (err) {
    if (!(err instanceof DaemonError && err.code === DaemonErrorCode.NotRunning)) throw err
  }
  if (json) { process.stdout.write(JSON.stringify({ document: doc, sentTo: recipients }) + '\n'); return }
  process.stdout.write(`${checked.kind === 'admission' ? 'admission' : `membership change (${checked.doc.op})`} of ${checked.doc.peerId} signed and kept in ${dataDirPaths(dataDir).membership}\n`)
  process.stdout.write(recipients == null
    ? 'the daemon is not running: it shares the document with the members when it starts\n'
    : `the daemon accepted it and sent it to ${recipients} member(s); members that are offline get it when they next connect\n`)
  if (out != null) process.stdout.write(`written to ${out}\n`)
}

export function registerRun (program: Command): void {
  const run = program.command('run').description('create a closed run, admit and remove members, show the run')

  run.command('create')
    .description('create a run: a manifest signed by this node (its creator and first admin and member), and set this data directory up for it')
    .requiredOption('--name <name>', 'human name of the run')
    .option('--data-dir <dir>', 'node data directory (created if missing)', DEFAULT_DATA_DIR)
    .option('--min-members <n>', 'members connected before round 0 starts', '1')
    .option('--members <ids>', 'other founding members, comma-separated peer ids, each optionally =<samples> (its declared fold weight): more can be admitted later')
    .option('--samples <n>', "this node's declared fold weight (examples it trains on); members without one weigh 1, so leaving all unset weighs everyone equally")
    .option('--admins <ids>', 'other peers that may admit and remove members, comma-separated')
    .option('--set <key=value...>', 'run settings (e.g. innerSteps=100 mode=aggregator) and node config fields; see `tapestry init --help`')
    .option('--listen <addrs>', 'listen multiaddrs for this node, comma-separated')
    .option('--bootstrap <addrs>', 'multiaddrs to dial at start, comma-separated')
    .option('--model-file <file.onnx>', 'train this ONNX forward graph: the manifest names it by sha256, every member holds the file (modelPath)')
    .option('--out <file>', 'also write the signed manifest here (the file to send partners)')
    .option('--json', 'print one JSON object', false)
    .action(async (o: Record<string, unknown>) => {
      const fields = configFromFlags(o)
      const founding = o.members != null ? list(String(o.members)).map(memberArg) : []
      if (o.modelFile != null) {
        const file = await loadOnnxModelFile(String(o.modelFile))
        Object.assign(fields, { model: onnxRef(file.spec), modelPath: resolve(String(o.modelFile)) })
      }
      const { manifest, init: r } = await createRun(String(o.dataDir), {
        name: String(o.name),
        fields,
        members: founding.map(m => m.peerId),
        samples: Object.fromEntries(founding.flatMap(m => m.samples === undefined ? [] : [[m.peerId, m.samples]])),
        selfSamples: o.samples != null ? parseIntFlag('samples', String(o.samples), 1) : undefined,
        admins: o.admins != null ? list(String(o.admins)).map(peerArg) : [],
        minMembers: parseIntFlag('min-members', String(o.minMembers), 1, 10_000)
      })
      const self = r.peerId
      if (o.out != null) await writeFile(String(o.out), manifestJson(manifest))
      if (o.json === true) {
        process.stdout.write(JSON.stringify({ runId: manifest.runId, peerId: self, dataDir: r.paths.root, manifest: r.paths.run, out: o.out ?? null }) + '\n')
        return
      }
      process.stdout.write(`run "${manifest.body.name}" created\nrun id  ${manifest.runId}\npeer id ${self} (creator, admin, member)\nmanifest ${r.paths.run}${o.out != null ? ` and ${String(o.out)}` : ''}: send it to partners; admit each with \`tapestry run admit <their peer id>\`\n`)
    })

  run.command('admit <peerId>')
    .description('admit a peer to the run (signed by this node, which must be an admin of the manifest); the running daemon gossips it to the members')
    .option('--data-dir <dir>', "an admin's data directory", DEFAULT_DATA_DIR)
    .option('--from-round <n>', 'first round the peer takes part in (default: at once)')
    .option('--expires <time>', 'the admission lets the peer join until then (ISO time, e.g. 2027-01-31T00:00:00.000Z)')
    .option('--out <file>', 'also write the signed admission here')
    .option('--json', 'print one JSON object', false)
    .action(async (peerId: string, o: Record<string, unknown>) => {
      const dataDir = String(o.dataDir)
      const paths = dataDirPaths(dataDir)
      const manifest = await loadRun(paths)
      const doc = await admit(manifest, peerArg(peerId), await loadIdentity(paths), {
        validFromRound: o.fromRound != null ? parseIntFlag('from-round', String(o.fromRound), 0) : undefined,
        expires: o.expires != null ? String(o.expires) : undefined
      })
      await deliver(dataDir, manifest, doc, o.out as string | undefined, o.json === true)
    })

  run.command('remove <peerId>')
    .description('remove a member from a round on: every node applies it at that round (signed by this admin node)')
    .option('--data-dir <dir>', "an admin's data directory", DEFAULT_DATA_DIR)
    .option('--round <n>', 'the first round without the peer (default: the running daemon\'s round + 2, so the change reaches every member first)')
    .option('--out <file>', 'also write the signed change here')
    .option('--json', 'print one JSON object', false)
    .action(async (peerId: string, o: Record<string, unknown>) => {
      const dataDir = String(o.dataDir)
      const paths = dataDirPaths(dataDir)
      const manifest = await loadRun(paths)
      let round: number
      if (o.round != null) round = parseIntFlag('round', String(o.round), 0)
      else {
        const now = await daemonRound(dataDir)
        if (now === undefined) throw new UsageError('--round is required when the daemon is not running')
        round = now + 2
      }
      const doc = await changeMembership(manifest, { op: 'remove', peerId: peerArg(peerId), effectiveRound: round }, await loadIdentity(paths))
      await deliver(dataDir, manifest, doc, o.out as string | undefined, o.json === true)
    })

  run.command('show')
    .description("print a run's manifest and its members (from a data directory, or a manifest file)")
    .option('--data-dir <dir>', 'node data directory', DEFAULT_DATA_DIR)
    .option('--file <run.json>', 'a manifest file instead of a data directory (founding members only)')
    .option('--round <n>', 'members of this round (default: the running daemon\'s round, else the latest known)')
    .option('--json', 'print one JSON object', false)
    .action(async (o: Record<string, unknown>) => {
      const fromFile = o.file != null
      const manifest = fromFile ? await readManifestFile(String(o.file)) : await loadRun(dataDirPaths(String(o.dataDir)))
      const { roster } = fromFile ? { roster: undefined } : await loadRoster(dataDirPaths(String(o.dataDir)), manifest, 0)
      const docs = roster?.all() ?? []
      const latest = Math.max(0, ...docs.map(d => d.kind === 'admission' ? d.doc.validFromRound ?? 0 : d.doc.effectiveRound))
      const round = o.round != null ? parseIntFlag('round', String(o.round), 0) : (fromFile ? 0 : await daemonRound(String(o.dataDir)) ?? latest)
      const members = roster?.membersAt(round) ?? manifest.body.members
      const b = manifest.body
      if (o.json === true) {
        process.stdout.write(JSON.stringify({ runId: manifest.runId, name: b.name, creator: b.creator, createdAt: b.createdAt, admins: b.admins, minMembers: b.minMembers, settings: b.settings, round, members, documents: docs.map(d => d.doc) }) + '\n')
        return
      }
      const t = table()
      t.push({ run: `${b.name}` }, { 'run id': manifest.runId }, { creator: b.creator }, { created: b.createdAt }, { admins: b.admins.join('\n') },
        { 'min members': String(b.minMembers) }, { settings: canonicalJson(b.settings).replace(/,"/g, ', "') })
      process.stdout.write(t.toString() + '\n')
      const m = table({ head: ['member', 'capacity', 'samples', 'since'] })
      for (const x of members) {
        const adm = docs.find(d => d.doc.peerId === x.peerId)
        m.push([x.peerId, String(x.capacity), String(x.samples ?? 1), b.members.some(f => f.peerId === x.peerId) ? 'founding' : adm != null ? `admitted by ${adm.doc.signer.slice(-6)}` : '-'])
      }
      process.stdout.write(`members at round ${round}:\n${m.toString()}\n`)
      const removed = docs.filter(d => d.kind === 'change' && d.doc.op === 'remove')
      for (const d of removed) process.stdout.write(`removed from round ${(d.doc as { effectiveRound: number }).effectiveRound}: ${d.doc.peerId}\n`)
    })
}
