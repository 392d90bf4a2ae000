// Codec benchmark: size ratio, error and encode/decode speed of each spec on ≥ 10 M floats,
// next to zstd (a general-purpose compressor) and Float32Array.set (the memory limit).
import { zstdCompressSync, zstdDecompressSync, constants } from 'node:zlib'
import os from 'node:os'
import { encodeUpdate, decodeUpdate, accumulateUpdate, type CodecState } from '../src/compress/index.js'
import { createLayout } from '../src/tensor/layout.js'
import { Rng } from '../src/tensor/rng.js'

/** Specs measured unless the caller names others. */
export const BENCH_SPECS = ['fp32', 'fp16', 'int8', 'q4', 'topk:0.01+q2', 'topk:0.01+q4', 'topk:0.03+q2', 'topk:0.01+q8',
  'topk:0.01+q1', 'topk:0.01:chunk=4096+q4', 'topk:0.01+q4:round=stoch']

export interface CodecRow {
  vector: string
  spec: string
  /** dense fp32 bytes / envelope bytes */
  ratio: number
  /** ||sent − x|| / ||x||, single shot from an empty state */
  relL2: number
  /**
   * MB of fp32 input per second, steady state as a node runs it: residual carried in place,
   * last round's `sent` buffer recycled
   */
  encodeMBps: number
  /** first round: allocates residual and `sent` (fresh 40 MB buffers fault in page by page) */
  encodeFreshMBps: number
  /** decodeUpdate: allocates the dense output */
  decodeMBps: number
  /** accumulateUpdate into a warm accumulator, as an aggregator folds peers */
  accumulateMBps: number
  /** steady encode + decodeUpdate of one update, as a share of memcpy speed */
  roundTripVsMemcpy: number
  /** steady encode + accumulateUpdate, as a share of memcpy speed */
  roundTripWarmVsMemcpy: number
}

export interface ZstdRow { vector: string, level: number, ratio: number, compressMBps: number, decompressMBps: number }

export interface BenchCompressResult {
  elements: number
  machine: { node: string, cpus: number, cpu: string }
  codecs: CodecRow[]
  peers: { memcpyMBps: number, zstd: ZstdRow[] }
  targets: Array<{ what: string, value: number, want: number, pass: boolean }>
}

export interface BenchCompressOptions {
  json: boolean
  /** extra vectors (e.g. a real pseudo-gradient); the Gaussian one is always measured first */
  vectors?: Array<{ name: string, data: Float32Array }>
  /** @default BENCH_SPECS */
  specs?: string[]
  /** elements of the Gaussian vector @default 10_000_000 */
  elements?: number
  /** timed repetitions per measurement (the median is reported) @default 3 */
  repeats?: number
}

export async function benchCompress (opts: BenchCompressOptions): Promise<BenchCompressResult> {
  const elements = opts.elements ?? 10_000_000
  const repeats = opts.repeats ?? 3
  const specs = opts.specs ?? BENCH_SPECS
  const log = (s: string): void => { if (!opts.json) process.stdout.write(s + '\n') }

  const vectors = [{ name: `gaussian N(0,1) × ${elements}`, data: gaussian(elements, 1) }, ...(opts.vectors ?? [])]
  const memcpyMBps = memcpySpeed(vectors[0].data, 10)
  log(`memcpy (Float32Array.set, warm target): ${memcpyMBps.toFixed(0)} MB/s`)

  const codecs: CodecRow[] = []
  const zstd: ZstdRow[] = []
  for (const { name, data } of vectors) {
    log(`\n${name} (${(data.length * 4 / 1e6).toFixed(1)} MB fp32)`)
    log(`${'spec'.padEnd(28)}${'ratio'.padStart(9)}${'relL2'.padStart(9)}${'enc MB/s'.padStart(10)}${'(fresh)'.padStart(9)}` +
      `${'dec MB/s'.padStart(10)}${'(accum)'.padStart(9)}${'enc+dec/memcpy'.padStart(16)}${'(accum)'.padStart(9)}`)
    for (const spec of specs) {
      const row = measureCodec(name, spec, data, repeats, memcpyMBps)
      codecs.push(row)
      log(`${spec.padEnd(28)}${fmt(row.ratio, 1).padStart(9)}${fmt(row.relL2, 4).padStart(9)}${fmt(row.encodeMBps, 0).padStart(10)}` +
        `${fmt(row.encodeFreshMBps, 0).padStart(9)}${fmt(row.decodeMBps, 0).padStart(10)}${fmt(row.accumulateMBps, 0).padStart(9)}` +
        `${(fmt(100 * row.roundTripVsMemcpy, 1) + '%').padStart(16)}${(fmt(100 * row.roundTripWarmVsMemcpy, 1) + '%').padStart(9)}`)
    }
    for (const level of [1, 3]) {
      const z = measureZstd(name, data, level)
      zstd.push(z)
      log(`${`zstd -${level} (fp32 bytes)`.padEnd(28)}${fmt(z.ratio, 2).padStart(9)}${'0'.padStart(9)}${fmt(z.compressMBps, 0).padStart(10)}` +
        `${''.padStart(9)}${fmt(z.decompressMBps, 0).padStart(10)}${''.padStart(9)}${(fmt(100 / (memcpyMBps / z.compressMBps + memcpyMBps / z.decompressMBps), 1) + '%').padStart(16)}`)
    }
  }

  const first = vectors[0].name
  const targets = [
    ...codecs.filter(r => r.vector === first && r.spec === 'topk:0.01+q2').map(r => ({ what: 'topk:0.01+q2 ratio vs fp32', value: r.ratio, want: 150, pass: r.ratio >= 150 })),
    ...codecs.filter(r => r.vector === first && r.spec.startsWith('topk')).flatMap(r => [{
      what: `${r.spec} encode+decodeUpdate vs memcpy`, value: r.roundTripVsMemcpy, want: 0.05, pass: r.roundTripVsMemcpy >= 0.05
    }, {
      what: `${r.spec} encode+accumulateUpdate vs memcpy`, value: r.roundTripWarmVsMemcpy, want: 0.05, pass: r.roundTripWarmVsMemcpy >= 0.05
    }])
  ]
  log('\ntargets:')
  for (const t of targets) log(`  ${t.pass ? 'PASS' : 'MISS'} ${t.what}: ${fmt(t.value, 3)} (want ≥ ${t.want})`)
  return {
    elements,
    machine: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown' },
    codecs,
    peers: { memcpyMBps, zstd },
    targets
  }
}

function measureCodec (vector: string, spec: string, x: Float32Array, repeats: number, memcpyMBps: number): CodecRow {
  const layout = createLayout([{ name: 'v', shape: [x.length] }])
  const mb = x.length * 4 / 1e6
  // single shot from an empty state: size and error, and the first-round encode speed
  let t = performance.now()
  const first = encodeUpdate(spec, x, layout, { seed: 1 })
  const freshMs = performance.now() - t
  const ratio = x.length * 4 / first.bytes.length
  const relL2 = relativeL2(first.sent, x)
  // steady state: each round feeds the previous residual back in place and recycles the
  // previous `sent`, as the node does
  let state: CodecState = first.state
  let sentBuffer = first.sent
  const encMs: number[] = []
  let bytes = first.bytes
  for (let i = 0; i < repeats; i++) {
    t = performance.now()
    const e = encodeUpdate(spec, x, layout, state, { inPlace: true, sentBuffer })
    encMs.push(performance.now() - t)
    state = e.state
    bytes = e.bytes
    sentBuffer = e.sent
  }
  const decMs: number[] = []
  for (let i = 0; i < repeats; i++) {
    t = performance.now()
    decodeUpdate(bytes, layout)
    decMs.push(performance.now() - t)
  }
  const sum = new Float32Array(x.length)
  sum.fill(0)
  const accMs: number[] = []
  for (let i = 0; i < repeats; i++) {
    t = performance.now()
    accumulateUpdate(bytes, layout, sum, 0.5)
    accMs.push(performance.now() - t)
  }
  const enc = median(encMs)
  const dec = median(decMs)
  const acc = median(accMs)
  return {
    vector,
    spec,
    ratio,
    relL2,
    encodeMBps: mb / enc * 1000,
    encodeFreshMBps: mb / freshMs * 1000,
    decodeMBps: mb / dec * 1000,
    accumulateMBps: mb / acc * 1000,
    roundTripVsMemcpy: (mb / (enc + dec) * 1000) / memcpyMBps,
    roundTripWarmVsMemcpy: (mb / (enc + acc) * 1000) / memcpyMBps
  }
}

function measureZstd (vector: string, x: Float32Array, level: number): ZstdRow {
  const raw = Buffer.from(x.buffer, x.byteOffset, x.byteLength)
  const params = { [constants.ZSTD_c_compressionLevel]: level }
  let t = performance.now()
  const z = zstdCompressSync(raw, { params })
  const cMs = performance.now() - t
  t = performance.now()
  zstdDecompressSync(z)
  const dMs = performance.now() - t
  const mb = x.byteLength / 1e6
  return { vector, level, ratio: x.byteLength / z.length, compressMBps: mb / cMs * 1000, decompressMBps: mb / dMs * 1000 }
}

/** Best of `repeats` copies into a warm buffer: what memory bandwidth allows on this machine. */
function memcpySpeed (x: Float32Array, repeats: number): number {
  const dst = new Float32Array(x.length)
  dst.set(x)
  let best = Infinity
  for (let i = 0; i < repeats; i++) {
    const t = performance.now()
    dst.set(x)
    best = Math.min(best, performance.now() - t)
  }
  return x.length * 4 / 1e6 / best * 1000
}

function gaussian (n: number, seed: number): Float32Array {
  const rng = new Rng(seed)
  const x = new Float32Array(n)
  for (let i = 0; i < n; i++) x[i] = rng.normal()
  return x
}

function relativeL2 (a: Float32Array, b: Float32Array): number {
  let e = 0
  let s = 0
  for (let i = 0; i < b.length; i++) {
    e += (a[i] - b[i]) ** 2
    s += b[i] * b[i]
  }
  return Math.sqrt(e / s)
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function fmt (x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x)
}
