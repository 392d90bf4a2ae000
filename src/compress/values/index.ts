// Registry of value codecs keyed by spec id. The mapped type makes a missing codec a compile
// error: adding an id to VALUE_CODEC_IDS without a codec here does not build.
import type { ValueCodecId } from '../spec.js'
import type { ValueCodec } from './codec.js'
import { fp16Codec, fp32Codec } from './float.js'
import { int8Codec } from './int8.js'
import { quantCodec } from './quant.js'

export type { ValueCodec } from './codec.js'

export const VALUE_CODECS: { readonly [K in ValueCodecId]: ValueCodec<K> } = {
  fp32: fp32Codec,
  fp16: fp16Codec,
  int8: int8Codec,
  q8: quantCodec('q8', 8),
  q4: quantCodec('q4', 4),
  q2: quantCodec('q2', 2),
  q1: quantCodec('q1', 1)
}
