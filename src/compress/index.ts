// Public face of the compress layer: codec specs, encode/decode of update envelopes with
// error feedback, ratio estimates, typed errors. Pure: no network, file or clock access.
export { encodeUpdate, decodeUpdate, readUpdateMeta, updateNorm, accumulateUpdate, estimateRatio, envelopeBytes, createCodec } from './codec.js'
export type { CodecState, EncodedUpdate, DecodedUpdate, EncodeOptions, UpdateCodec } from './codec.js'
export { parseSpec, parseCanonicalSpec, formatSpec, VALUE_CODEC_IDS, MAX_ELEMENTS, DEFAULT_BLOCK } from './spec.js'
export type { CodecSpec, TopkSpec, ValueSpec, ValueCodecId, Rounding } from './spec.js'
export { ENVELOPE_VERSION, defaultMaxBytes } from './envelope.js'
export type { EnvelopeMeta } from './envelope.js'
export { maxTopk, selectTopk, topkCount } from './select.js'
export { referenceTopk } from './select-reference.js'
export { VALUE_CODECS } from './values/index.js'
export { DENSE_REL_L2, TOPK_VALUES_REL_L2, TOPK_TOTAL_REL_L2 } from './bounds.js'
export type { ValueCodec } from './values/index.js'
export { CompressError, CompressErrorCode, SpecError, InputError, EnvelopeError, PayloadError, isCompressError } from './errors.js'
