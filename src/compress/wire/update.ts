import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface UpdateEnvelope {
  version: number
  codec: string
  layoutHash: Uint8Array<ArrayBuffer>
  total: bigint
  payload: Uint8Array<ArrayBuffer>
  round?: bigint
  peer?: Uint8Array<ArrayBuffer>
}

export namespace UpdateEnvelope {
  let _codec: Codec<UpdateEnvelope>

  export const codec = (): Codec<UpdateEnvelope> => {
    if (_codec == null) {
      _codec = message<UpdateEnvelope>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.codec != null && obj.codec !== '')) {
          w.uint32(18)
          w.string(obj.codec)
        }

        if ((obj.layoutHash != null && obj.layoutHash.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.layoutHash)
        }

        if ((obj.total != null && obj.total !== 0n)) {
          w.uint32(32)
          w.uint64(obj.total)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.payload)
        }

        if (obj.round != null) {
          w.uint32(48)
          w.uint64(obj.round)
        }

        if (obj.peer != null) {
          w.uint32(58)
          w.bytes(obj.peer)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          codec: '',
          layoutHash: uint8ArrayAlloc(0),
          total: 0n,
          payload: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.codec = reader.string()
              break
            }
            case 3: {
              obj.layoutHash = reader.bytes()
              break
            }
            case 4: {
              obj.total = reader.uint64()
              break
            }
            case 5: {
              obj.payload = reader.bytes()
              break
            }
            case 6: {
              obj.round = reader.uint64()
              break
            }
            case 7: {
              obj.peer = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.codec`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.layoutHash`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.total`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface UpdateEnvelopeVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface UpdateEnvelopeCodecFieldEvent {
    field: '$.codec'
    value: string
  }

  export interface UpdateEnvelopeLayoutHashFieldEvent {
    field: '$.layoutHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface UpdateEnvelopeTotalFieldEvent {
    field: '$.total'
    value: bigint
  }

  export interface UpdateEnvelopePayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface UpdateEnvelopeRoundFieldEvent {
    field: '$.round'
    value: bigint
  }

  export interface UpdateEnvelopePeerFieldEvent {
    field: '$.peer'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<UpdateEnvelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, UpdateEnvelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<UpdateEnvelope>): UpdateEnvelope {
    return decodeMessage(buf, UpdateEnvelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<UpdateEnvelope>): Generator<UpdateEnvelopeVersionFieldEvent | UpdateEnvelopeCodecFieldEvent | UpdateEnvelopeLayoutHashFieldEvent | UpdateEnvelopeTotalFieldEvent | UpdateEnvelopePayloadFieldEvent | UpdateEnvelopeRoundFieldEvent | UpdateEnvelopePeerFieldEvent> {
    return streamMessage(buf, UpdateEnvelope.codec(), opts)
  }
}
