// Checkpoint files: parameters (and optional optimizer state) with their layout and a SHA-256
// trailer, written atomically so a crash mid-write never leaves a half file in place.
import { createHash } from 'node:crypto'
import { readFile, rename, writeFile, open } from 'node:fs/promises'
import { layoutToString, type ParamLayout } from '../tensor/index.js'
import { TrainError, TrainErrorCode } from './errors.js'

const MAGIC = 0x4b435054 // "TPCK" little-endian
const VERSION = 1
const MAX_HEADER = 1 << 20

export interface Checkpoint {
  layout: string
  /** free-form, JSON-serialisable description (model spec, steps, round ...) */
  meta: Record<string, unknown>
  vectors: Record<string, Float32Array>
}

interface Header { layout: string, meta: Record<string, unknown>, vectors: Array<{ name: string, length: number }> }

export function encodeCheckpoint (ck: Checkpoint): Uint8Array {
  const names = Object.keys(ck.vectors)
  const header: Header = { layout: ck.layout, meta: ck.meta, vectors: names.map(name => ({ name, length: ck.vectors[name].length })) }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header))
  const dataBytes = names.reduce((a, n) => a + ck.vectors[n].length * 4, 0)
  const pre = 12 + headerBytes.length
  const pad = (4 - (pre % 4)) % 4 // float data 4-byte aligned for zero-copy reads
  const out = new Uint8Array(pre + pad + dataBytes + 32)
  const dv = new DataView(out.buffer)
  dv.setUint32(0, MAGIC, true)
  dv.setUint32(4, VERSION, true)
  dv.setUint32(8, headerBytes.length, true)
  out.set(headerBytes, 12)
  let off = pre + pad
  for (const n of names) {
    const v = ck.vectors[n]
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), off) // little-endian hosts only (x86/arm)
    off += v.byteLength
  }
  out.set(createHash('sha256').update(out.subarray(0, off)).digest(), off)
  return out
}

export function decodeCheckpoint (bytes: Uint8Array, expectLayout?: ParamLayout): Checkpoint {
  const bad = (why: string): TrainError => new TrainError(TrainErrorCode.CheckpointCorrupt, `corrupt checkpoint: ${why}`)
  if (bytes.length < 12 + 32) throw bad(`only ${bytes.length} bytes`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (dv.getUint32(0, true) !== MAGIC) throw bad('not a Tapestry checkpoint (bad magic)')
  const version = dv.getUint32(4, true)
  if (version !== VERSION) throw bad(`unsupported version ${version}`)
  const digest = createHash('sha256').update(bytes.subarray(0, bytes.length - 32)).digest()
  if (!Buffer.from(bytes.subarray(bytes.length - 32)).equals(digest)) throw bad('checksum mismatch')
  const hlen = dv.getUint32(8, true)
  if (hlen > MAX_HEADER || 12 + hlen > bytes.length - 32) throw bad(`header length ${hlen} out of range`)
  let header: Header
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + hlen))) as Header
  } catch {
    throw bad('header is not JSON')
  }
  if (typeof header?.layout !== 'string' || !Array.isArray(header.vectors)) throw bad('header fields missing')
  const pre = 12 + hlen
  let off = pre + ((4 - (pre % 4)) % 4)
  const vectors: Record<string, Float32Array> = {}
  for (const v of header.vectors) {
    if (typeof v?.name !== 'string' || !Number.isSafeInteger(v.length) || v.length < 0) throw bad('bad vector entry')
    if (off + v.length * 4 > bytes.length - 32) throw bad(`vector "${v.name}" runs past the end`)
    // copy: `bytes` may be a pooled Buffer whose .buffer holds unrelated data
    const copy = new Uint8Array(v.length * 4)
    copy.set(bytes.subarray(off, off + v.length * 4))
    vectors[v.name] = new Float32Array(copy.buffer)
    off += v.length * 4
  }
  if (off !== bytes.length - 32) throw bad('trailing bytes')
  if (expectLayout != null && header.layout !== layoutToString(expectLayout)) {
    throw new TrainError(TrainErrorCode.CheckpointLayout, `checkpoint is for layout ${header.layout.slice(0, 80)}, model needs ${layoutToString(expectLayout).slice(0, 80)}`)
  }
  return { layout: header.layout, meta: header.meta ?? {}, vectors }
}

/** Write to a temp file, fsync, rename: the old checkpoint stays valid until the new one is whole. */
export async function saveCheckpoint (path: string, ck: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  try {
    await writeFile(tmp, encodeCheckpoint(ck))
    const fh = await open(tmp, 'r')
    await fh.sync()
    await fh.close()
    await rename(tmp, path)
  } catch (err) {
    throw new TrainError(TrainErrorCode.CheckpointIo, `cannot write checkpoint ${path}: ${(err as Error).message}`)
  }
}

export async function loadCheckpoint (path: string, expectLayout?: ParamLayout): Promise<Checkpoint> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new TrainError(TrainErrorCode.CheckpointIo, `cannot read checkpoint ${path}: ${(err as Error).message}`)
  }
  return decodeCheckpoint(bytes, expectLayout)
}
