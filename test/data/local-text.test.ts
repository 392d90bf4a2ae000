// A node's own text: a folder of .txt files or a .jsonl file as byte tokens, and one typed error per kind of bad input.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadLocalText, DataError, DataErrorCode, LocalTextError } from '../../src/data/index.js'

const root = mkdtempSync(join(tmpdir(), 'tapestry-local-text-'))
after(() => rmSync(root, { recursive: true, force: true }))

let made = 0
/** A fresh folder holding the given files (string or raw bytes). */
function folder (files: Record<string, string | Uint8Array>): string {
  const dir = join(root, `f${made++}`)
  mkdirSync(dir)
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body)
  return dir
}
/** A fresh .jsonl file with the given content. */
function jsonl (body: string | Uint8Array): string {
  const file = join(root, `j${made++}.jsonl`)
  writeFileSync(file, body)
  return file
}

const text = (ds: { tokens: ArrayLike<number>, docStarts: Int32Array }, d: number): string =>
  new TextDecoder().decode(Uint8Array.from(Array.prototype.slice.call(ds.tokens, ds.docStarts[d], ds.docStarts[d + 1]) as number[]))

test('a folder: one document per .txt file, in name order, UTF-8 bytes as tokens', () => {
  const dir = folder({ 'b.txt': 'second: naïve café', 'a.txt': '\uFEFFfirst file', 'c.md': 'not text data', '.hidden.txt': 'skipped', 'empty.txt': '' })
  mkdirSync(join(dir, 'sub.txt'))
  const ds = loadLocalText(dir, { context: 4 })
  assert.equal(ds.kind, 'tokens')
  assert.equal(ds.vocabSize, 256)
  assert.equal(ds.context, 4)
  assert.ok(ds.tokens instanceof Uint8Array)
  assert.equal(ds.n, 2)
  assert.equal(text(ds, 0), 'first file')
  assert.equal(text(ds, 1), 'second: naïve café')
  // 'ï' and 'é' are two bytes each
  assert.equal(ds.docStarts[2] - ds.docStarts[1], 'second: naïve café'.length + 2)
})

test('a .jsonl file: one document per line from the text field (or another), blank lines skipped', () => {
  const file = jsonl('{"text": "hello world", "id": 1}\n\n{"text": "ünïcode ✓"}\r\n{"text": "", "id": 3}\n{"body": "other field", "text": "x"}\n')
  const ds = loadLocalText(file, { context: 3 })
  assert.equal(ds.n, 3)
  assert.equal(text(ds, 0), 'hello world')
  assert.equal(text(ds, 1), 'ünïcode ✓')
  assert.equal(text(ds, 2), 'x')
  const other = jsonl('{"body": "alpha beta"}\n{"body": "gamma"}')
  const ds2 = loadLocalText(other, { context: 5, field: 'body' })
  assert.deepEqual([text(ds2, 0), text(ds2, 1)], ['alpha beta', 'gamma'])
})

/** Asserts a LocalTextError with this code whose message names `where`. */
function fails (f: () => unknown, code: DataErrorCode, where: string, line?: number): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof LocalTextError, String(e))
    assert.equal(e.code, code, e.message)
    assert.ok(e.message.includes(where), `message "${e.message}" names ${where}`)
    if (line !== undefined) {
      assert.equal(e.line, line)
      assert.ok(e.message.includes(`:${line}`), `message "${e.message}" names line ${line}`)
    }
    return true
  })
}

test('each bad input is one LocalTextError with its code, naming the file (and line)', () => {
  const missing = join(root, 'nope')
  fails(() => loadLocalText(missing, { context: 4 }), DataErrorCode.LocalMissing, missing)
  fails(() => loadLocalText(join(root, 'nope.jsonl'), { context: 4 }), DataErrorCode.LocalMissing, 'nope.jsonl')
  const empty = folder({})
  fails(() => loadLocalText(empty, { context: 4 }), DataErrorCode.LocalEmpty, empty)
  const onlyOther = folder({ 'notes.md': 'hello there' })
  fails(() => loadLocalText(onlyOther, { context: 4 }), DataErrorCode.LocalEmpty, onlyOther)
  const blanks = folder({ 'a.txt': '', 'b.txt': '' })
  fails(() => loadLocalText(blanks, { context: 4 }), DataErrorCode.LocalEmpty, blanks)
  fails(() => loadLocalText(jsonl(''), { context: 4 }), DataErrorCode.LocalEmpty, '.jsonl')
  fails(() => loadLocalText(jsonl('{"text": ""}\n{"text": ""}\n'), { context: 4 }), DataErrorCode.LocalEmpty, '.jsonl')
  // 0xff never occurs in UTF-8; 0xc3 0x28 is a broken two-byte sequence
  const badBytes = folder({ 'a.txt': 'fine text here', 'b.txt': Uint8Array.from([0x68, 0x69, 0xc3, 0x28, 0xff]) })
  fails(() => loadLocalText(badBytes, { context: 4 }), DataErrorCode.LocalEncoding, 'b.txt')
  const badLineBytes = jsonl(Buffer.concat([Buffer.from('{"text": "ok"}\n{"text": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]))
  fails(() => loadLocalText(badLineBytes, { context: 1 }), DataErrorCode.LocalEncoding, badLineBytes, 2)
  const lone = jsonl('{"text": "fine"}\n{"text": "half \\ud800 a pair"}\n')
  fails(() => loadLocalText(lone, { context: 1 }), DataErrorCode.LocalEncoding, lone, 2)
  const notJson = jsonl('{"text": "one"}\n{"text": "two"}\n{"text": "three"\n')
  fails(() => loadLocalText(notJson, { context: 1 }), DataErrorCode.LocalJson, notJson, 3)
  const notObject = jsonl('["text", "in an array"]\n')
  fails(() => loadLocalText(notObject, { context: 1 }), DataErrorCode.LocalJson, notObject, 1)
  const noField = jsonl('{"text": "one"}\n{"body": "two"}\n')
  fails(() => loadLocalText(noField, { context: 1 }), DataErrorCode.LocalField, noField, 2)
  fails(() => loadLocalText(jsonl('{"text": "one"}\n'), { context: 1, field: 'body' }), DataErrorCode.LocalField, '"body"', 1)
  const notString = jsonl('{"text": "one"}\n\n{"text": 42}\n')
  fails(() => loadLocalText(notString, { context: 1 }), DataErrorCode.LocalField, notString, 3)
  const short = folder({ 'a.txt': 'abc', 'b.txt': 'abcdefg' })
  fails(() => loadLocalText(short, { context: 7 }), DataErrorCode.LocalTooShort, 'b.txt')
  assert.equal(loadLocalText(short, { context: 6 }).n, 2)
  fails(() => loadLocalText(jsonl('{"text": "abc"}\n'), { context: 3 }), DataErrorCode.LocalTooShort, 'line 1')
  const plainFile = join(folder({ 'a.txt': 'some text' }), 'a.txt')
  fails(() => loadLocalText(plainFile, { context: 1 }), DataErrorCode.LocalUnreadable, plainFile)
  assert.throws(() => loadLocalText(short, { context: 0 }), (e: unknown) => e instanceof DataError && e.code === DataErrorCode.LoadFailed)
})
