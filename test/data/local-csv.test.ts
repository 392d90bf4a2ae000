// A node's own labelled rows: a .csv with a header and a label column, and one coded error per bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadLocalCsv, DataError } from '../../src/data/index.js'
import { loadLocalCsvSplit } from '../../src/train/index.js'

test('rows load as features in column order with the label column left out; every 10th is held out', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-csv-'))
  try {
    const f = join(dir, 'rows.csv')
    const lines = ['a,label,b']
    for (let i = 0; i < 20; i++) lines.push(`${i},${i % 3},${i / 2}`)
    await writeFile(f, lines.join('\n') + '\n')
    const ds = loadLocalCsv(f)
    assert.equal(ds.n, 20)
    assert.deepEqual(ds.featureShape, [2])
    assert.equal(ds.numClasses, 3)
    assert.deepEqual(Array.from(ds.x.subarray(0, 4)), [0, 0, 1, 0.5])
    assert.deepEqual(Array.from(ds.y.subarray(0, 4)), [0, 1, 2, 0])
    const s = loadLocalCsvSplit(f)
    assert.equal(s.train.n, 18)
    assert.equal(s.test.n, 2)
    // no "label" header: the last column is the label
    await writeFile(f, 'x,y,cls\n1,2,0\n3,4,1\n')
    assert.deepEqual(Array.from(loadLocalCsv(f).y), [0, 1])
  } finally { await rm(dir, { recursive: true, force: true }) }
})

test('each bad input is one DataError naming the file (and row)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tp-csv-'))
  try {
    const cases: Array<[string, string | Uint8Array, string, RegExp, object?]> = [
      ['empty.csv', 'a,label\n', 'ERR_DATA_LOCAL_EMPTY', /header and no rows/],
      ['nan.csv', 'a,label\n1,0\nx,1\n', 'ERR_DATA_LOCAL_FIELD', /row 3, column a: "x" is not a finite number/],
      ['label.csv', 'a,label\n1,0\n2,1.5\n', 'ERR_DATA_LOCAL_FIELD', /row 3: label 1.5 is not a class/],
      ['range.csv', 'a,label\n1,0\n2,12\n', 'ERR_DATA_LOCAL_FIELD', /label 12 is not a class in \[0, 10\)/, { numClasses: 10 }],
      ['ragged.csv', 'a,b,label\n1,2,0\n1,0\n', 'ERR_DATA_LOCAL_JSON', /not a well-formed CSV/],
      ['bytes.csv', Uint8Array.from([0x61, 0x2c, 0xff, 0x0a]), 'ERR_DATA_LOCAL_ENCODING', /not UTF-8/],
      ['nolabel.csv', 'a,b\n1,2\n', 'ERR_DATA_LOCAL_FIELD', /no column "kind"/, { label: 'kind' }]
    ]
    for (const [name, body, code, message, opts] of cases) {
      await writeFile(join(dir, name), body)
      assert.throws(() => loadLocalCsv(join(dir, name), opts), (e: unknown) => e instanceof DataError && e.code === code && message.test(e.message) && e.message.includes(name), name)
    }
    assert.throws(() => loadLocalCsv(join(dir, 'missing.csv')), (e: unknown) => e instanceof DataError && e.code === 'ERR_DATA_LOCAL_MISSING')
  } finally { await rm(dir, { recursive: true, force: true }) }
})
