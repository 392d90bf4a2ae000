// The committed protons output must be what `npm run generate` makes from protocols/*.proto.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..', '..')

interface Generator { regenerate: (o: { root: string, check: boolean }) => Promise<string[]> }
async function generator (): Promise<Generator> {
  return await import(pathToFileURL(join(root, 'scripts', 'generate.mjs')).href) as Generator
}

test('src wire files are up to date with protocols/*.proto', async () => {
  const { regenerate } = await generator()
  assert.deepEqual(await regenerate({ root, check: true }), [], 'run `npm run generate` and commit the result')
})

test('a .proto edited without regenerating is caught, and regenerating fixes it', async () => {
  const { regenerate } = await generator()
  const copy = await mkdtemp(join(tmpdir(), 'tapestry-gen-'))
  try {
    await cp(join(root, 'protocols'), join(copy, 'protocols'), { recursive: true })
    for (const dir of ['src/net/wire', 'src/compress/wire']) await cp(join(root, dir), join(copy, dir), { recursive: true })
    const proto = join(copy, 'protocols', 'presence.proto')
    const text = await readFile(proto, 'utf8')
    const edited = text.replace(/\}\s*$/, '  uint32 probe_field = 99;\n}\n')
    assert.notEqual(edited, text)
    await writeFile(proto, edited)
    assert.deepEqual(await regenerate({ root: copy, check: true }), ['src/net/wire/presence.ts'])
    assert.deepEqual(await regenerate({ root: copy, check: false }), ['src/net/wire/presence.ts'])
    assert.match(await readFile(join(copy, 'src/net/wire/presence.ts'), 'utf8'), /probeField/)
    assert.deepEqual(await regenerate({ root: copy, check: true }), [])
  } finally {
    await rm(copy, { recursive: true, force: true })
  }
})
