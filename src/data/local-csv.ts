// A node's own labelled rows for a classifier: a .csv with a header, numeric feature columns and
// one integer label column. Every problem is one LocalTextError naming the file, row and column.
import { readFileSync, statSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { createClassificationDataset, type ClassificationDataset } from './dataset.js'
import { DataErrorCode, LocalTextError } from './errors.js'

export interface LocalCsvOptions {
  /** the label column's header @default 'label', else the last column */
  label?: string
  /** classes the run's schema has: labels must be in [0, numClasses) @default max label + 1 */
  numClasses?: number
}

/** Rows of `path` as a classification dataset: features in column order (label column left out). */
export function loadLocalCsv (path: string, o: LocalCsvOptions = {}): ClassificationDataset {
  const fail = (code: ConstructorParameters<typeof LocalTextError>[0], line: number | undefined, message: string): never => {
    throw new LocalTextError(code, path, line, message)
  }
  try {
    if (!statSync(path).isFile()) fail(DataErrorCode.LocalUnreadable, undefined, `${path} is not a file`)
  } catch (err) {
    if (err instanceof LocalTextError) throw err
    fail(DataErrorCode.LocalMissing, undefined, `${path} does not exist or cannot be read (${(err as Error).message})`)
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path))
  } catch (err) {
    return fail(DataErrorCode.LocalEncoding, undefined, `${path} is not UTF-8 text (${(err as Error).message})`)
  }
  let rows: string[][]
  try {
    rows = parse(text, { skip_empty_lines: true, trim: true, relax_column_count: false }) as string[][]
  } catch (err) {
    const e = err as { lines?: number, message: string }
    return fail(DataErrorCode.LocalJson, e.lines, `${path}: not a well-formed CSV (${e.message})`)
  }
  if (rows.length < 2) fail(DataErrorCode.LocalEmpty, undefined, `${path} holds ${rows.length === 0 ? 'nothing' : 'a header and no rows'}: there is nothing to train on`)
  const header = rows[0]
  const labelAt = o.label !== undefined ? header.indexOf(o.label) : header.includes('label') ? header.indexOf('label') : header.length - 1
  if (labelAt < 0) fail(DataErrorCode.LocalField, 1, `${path} has no column "${o.label ?? 'label'}" (columns: ${header.join(', ')})`)
  if (header.length < 2) fail(DataErrorCode.LocalField, 1, `${path} needs at least one feature column besides the label`)
  const features = header.length - 1
  const n = rows.length - 1
  const x = new Float32Array(n * features)
  const y = new Int32Array(n)
  for (let r = 1; r < rows.length; r++) {
    let c = 0
    for (let j = 0; j < header.length; j++) {
      const v = Number(rows[r][j])
      if (rows[r][j] === '' || !Number.isFinite(v)) fail(DataErrorCode.LocalField, r + 1, `${path}: row ${r + 1}, column ${header[j]}: "${rows[r][j]}" is not a finite number`)
      if (j === labelAt) {
        if (!Number.isInteger(v) || v < 0 || (o.numClasses !== undefined && v >= o.numClasses)) {
          fail(DataErrorCode.LocalField, r + 1, `${path}: row ${r + 1}: label ${rows[r][j]} is not a class in [0, ${o.numClasses ?? '∞'})`)
        }
        y[r - 1] = v
      } else {
        x[(r - 1) * features + c++] = v
      }
    }
  }
  const classes = o.numClasses ?? Math.max(2, ...Array.from(y, v => v + 1))
  return createClassificationDataset(x, y, [features], classes)
}
