// Seeded mutation fuzzer for update envelopes, shared by the fast test (10^4 cases per codec)
// and the long bench run (10^5): bit flips, truncations, extensions, splices and hostile
// integers, at the payload level (rewrapped in a valid envelope, so the codec decoder itself
// is reached) and at the envelope level. The only acceptable outcomes are a CompressError
// with a known code or a finite vector of the layout's length.
import { decodeUpdate, encodeUpdate, parseSpec, isCompressError } from '../../src/compress/index.js'
import { writeEnvelope } from '../../src/compress/envelope.js'
import { UpdateEnvelope } from '../../src/compress/wire/update.js'
import { createLayout, type ParamLayout } from '../../src/tensor/layout.js'
import { Rng } from '../../src/tensor/rng.js'

/** One spec per codec and composition the wire knows. */
export const FUZZ_SPECS = ['fp32', 'fp16', 'int8', 'q8', 'q4', 'q2', 'q1', 'int8:block=16:round=stoch',
  'topk:0.05+fp32', 'topk:0.05+fp16', 'topk:0.05+int8', 'topk:0.05+q8', 'topk:0.05+q4', 'topk:0.05+q2', 'topk:0.05+q1',
  'topk:0.1:chunk=64+q4:block=16', 'topk:1+q2:block=16'] as const

export interface FuzzReport {
  readonly spec: string
  readonly cases: number
  /** mutated inputs that still decoded to a finite vector */
  readonly decoded: number
  /** rejections by error code */
  readonly rejected: Record<string, number>
  /** anything else: a crash, a foreign exception, a bad vector (must stay empty) */
  readonly failures: string[]
  readonly ms: number
}

/** Odd sizes and two tensors: exercises padding bits and partial blocks. */
export const FUZZ_LAYOUT: ParamLayout = createLayout([{ name: 'a', shape: [17, 31] }, { name: 'b', shape: [250] }])

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x1f, 0x20]

function seeds (layout: ParamLayout, rng: Rng): Float32Array[] {
  const n = layout.total
  const gauss = Float32Array.from({ length: n }, () => rng.normal())
  const heavy = Float32Array.from({ length: n }, () => rng.normal() / Math.sqrt(rng.gamma(0.5) + 1e-6))
  const ties = Float32Array.from({ length: n }, () => rng.int(5) - 2)
  return [gauss, heavy, ties, new Float32Array(n)]
}

/** Runs `cases` mutated decodes of `spec`'s envelopes; deterministic in (spec, cases, seed). */
export function fuzzSpec (spec: string, cases: number, seed: number, layout: ParamLayout = FUZZ_LAYOUT): FuzzReport {
  const t0 = performance.now()
  const rng = new Rng(`${seed}:${spec}`)
  const parsed = parseSpec(spec)
  const n = layout.total
  const envelopes = seeds(layout, rng).map((x, i) => encodeUpdate(spec, x, layout, { seed: i }, { round: i }).bytes)
  const payloads = envelopes.map(e => UpdateEnvelope.decode(e).payload)
  // donors for splices: other codecs' bytes look plausible to a confused decoder
  const donors: Uint8Array[] = [...payloads, ...['topk:0.05+q4', 'int8', 'fp16'].map(s => UpdateEnvelope.decode(encodeUpdate(s, seeds(layout, rng)[0], layout).bytes).payload)]
  const ks = parsed.topk === undefined ? [n] : [1, n, n - 1, n + 1]
  const interestingU32 = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, ...ks, ...ks.map(k => k + 1)]

  let decoded = 0
  const rejected: Record<string, number> = {}
  const failures: string[] = []
  for (let c = 0; c < cases; c++) {
    const which = rng.int(envelopes.length)
    const payloadLevel = rng.next() < 0.75
    let bytes: Uint8Array = (payloadLevel ? payloads[which] : envelopes[which]).slice()
    for (let ops = 1 + rng.int(3); ops > 0; ops--) bytes = mutate(bytes, rng, donors, interestingU32)
    const input = payloadLevel ? writeEnvelope(parsed, layout, bytes) : bytes
    try {
      const { vector } = decodeUpdate(input, layout)
      if (vector.length !== n) failures.push(`case ${c}: vector of ${vector.length}, want ${n}`)
      else if (!vector.every(Number.isFinite)) failures.push(`case ${c}: non-finite output`)
      else decoded++
    } catch (e) {
      if (isCompressError(e)) rejected[e.code] = (rejected[e.code] ?? 0) + 1
      else failures.push(`case ${c}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`)
    }
  }
  return { spec, cases, decoded, rejected, failures: failures.slice(0, 20), ms: performance.now() - t0 }
}

/** One random mutation; may return a new (shorter or longer) buffer. */
export function mutate (b: Uint8Array, rng: Rng, donors: readonly Uint8Array[], ints: readonly number[]): Uint8Array {
  switch (rng.int(8)) {
    case 0: { // flip 1–8 bits
      if (b.length === 0) return b
      for (let f = 1 + rng.int(8); f > 0; f--) b[rng.int(b.length)] ^= 1 << rng.int(8)
      return b
    }
    case 1: // truncate
      return b.slice(0, b.length === 0 ? 0 : rng.int(b.length))
    case 2: { // extend with random bytes
      const extra = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256))
      return concat(b, extra)
    }
    case 3: { // splice a donor segment in (insert or overwrite)
      const d = donors[rng.int(donors.length)]
      if (d.length === 0) return b
      const s = rng.int(d.length)
      const seg = d.subarray(s, s + 1 + rng.int(Math.min(64, d.length - s)))
      const at = rng.int(b.length + 1)
      if (rng.next() < 0.5) return concat(concat(b.subarray(0, at), seg), b.subarray(at))
      const out = b.slice()
      out.set(seg.subarray(0, Math.max(0, out.length - at)), at)
      return out
    }
    case 4: { // interesting bytes
      if (b.length === 0) return b
      for (let f = 1 + rng.int(4); f > 0; f--) b[rng.int(b.length)] = INTERESTING_BYTES[rng.int(INTERESTING_BYTES.length)]
      return b
    }
    case 5: { // a hostile little-endian u32 (counts, sizes) near the front or anywhere
      if (b.length < 4) return b
      const at = rng.next() < 0.5 ? 0 : rng.int(b.length - 3)
      const v = ints[rng.int(ints.length)] >>> 0
      b[at] = v & 0xff; b[at + 1] = (v >>> 8) & 0xff; b[at + 2] = (v >>> 16) & 0xff; b[at + 3] = v >>> 24
      return b
    }
    case 6: // random bytes of a related length
      return Uint8Array.from({ length: rng.int(2 * b.length + 8) }, () => rng.int(256))
    default: { // delete a range
      if (b.length === 0) return b
      const s = rng.int(b.length)
      return concat(b.subarray(0, s), b.subarray(s + 1 + rng.int(Math.min(32, b.length - s))))
    }
  }
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
