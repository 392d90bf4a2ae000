// Framing over libp2p v3 streams: capped varint-length-prefixed frames and raw chunks in, with
// real receive backpressure; backpressured writes out.
//
// Why not `for await (const chunk of stream)`: that iterator pushes every incoming message into an
// unbounded queue, and yamux grants window on receipt, not on consumption, so a slow reader would
// buffer without limit. Here the reader pauses the stream (yamux then withholds window updates,
// stalling the sender) once `highWaterMark` bytes wait unread, and resumes below half of it.
import { NetError, NetErrorCode } from './errors.js'
import type { MessageStream, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** Longest varint we accept for a frame length: 5 bytes cover every length up to 2^35. */
const MAX_VARINT_BYTES = 5

export interface StreamReaderOptions {
  /**
   * Unread bytes held before the stream is paused.
   *
   * @default 4 MiB
   */
  highWaterMark?: number
}

/** Pulls frames and raw chunks off one stream. Call `release()` when done reading. */
export class StreamReader {
  private readonly stream: Stream
  private readonly highWaterMark: number
  private readonly chunks: Uint8Array[] = []
  private buffered = 0
  /** bytes ever received: fill() waits for this to move */
  private received = 0
  private remoteEnded = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private released = false

  constructor (stream: Stream, options: StreamReaderOptions = {}) {
    this.stream = stream
    this.highWaterMark = options.highWaterMark ?? 4 * 1024 * 1024
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('remoteCloseWrite', this.onRemoteEnd)
    stream.addEventListener('close', this.onClose)
    if (stream.readableEnded || stream.status !== 'open') this.remoteEnded = true
  }

  /** Bytes received but not yet read. */
  get bufferedBytes (): number {
    return this.buffered
  }

  /**
   * Read one varint-length-prefixed frame. A length above `maxBytes` throws ERR_NET_OVERSIZED before
   * anything is allocated; EOF inside the frame throws ERR_NET_TRUNCATED.
   */
  async readFrame (maxBytes: number): Promise<Uint8Array> {
    let length = 0
    for (let i = 0; ; i++) {
      if (i === MAX_VARINT_BYTES) throw new NetError(NetErrorCode.MALFORMED, 'frame length varint too long')
      const b = await this.readByte()
      if (b === undefined) {
        throw new NetError(NetErrorCode.TRUNCATED, i === 0 ? 'stream ended before a frame' : 'stream ended inside a frame length')
      }
      length += (b & 0x7f) * 2 ** (7 * i)
      if ((b & 0x80) === 0) break
    }
    if (length > maxBytes) {
      throw new NetError(NetErrorCode.OVERSIZED, `frame of ${length} bytes exceeds cap ${maxBytes}`, { length, cap: maxBytes })
    }
    return await this.readExactly(length)
  }

  /** As readFrame, but undefined when the stream ends cleanly before the frame's first byte. */
  async readFrameOrEnd (maxBytes: number): Promise<Uint8Array | undefined> {
    while (this.chunks.length === 0) {
      if (!(await this.fill())) return undefined
    }
    return await this.readFrame(maxBytes)
  }

  /** Next raw chunk (any size up to what arrived), or undefined at a clean end of stream. */
  async readChunk (): Promise<Uint8Array | undefined> {
    while (this.chunks.length === 0) {
      if (!(await this.fill())) return undefined
    }
    const c = this.chunks.shift() as Uint8Array
    this.consumed(c.byteLength)
    return c
  }

  /** Detach from the stream; unread bytes are dropped. */
  release (): void {
    if (this.released) return
    this.released = true
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteEnd)
    this.stream.removeEventListener('close', this.onClose)
    this.chunks.length = 0
    this.buffered = 0
  }

  private async readByte (): Promise<number | undefined> {
    while (this.chunks.length === 0) {
      if (!(await this.fill())) return undefined
    }
    const c = this.chunks[0]
    const b = c[0]
    if (c.byteLength === 1) this.chunks.shift()
    else this.chunks[0] = c.subarray(1)
    this.consumed(1)
    return b
  }

  private async readExactly (n: number): Promise<Uint8Array> {
    while (this.buffered < n) {
      if (!(await this.fill())) {
        throw new NetError(NetErrorCode.TRUNCATED, `stream ended after ${this.buffered} of ${n} frame bytes`, { got: this.buffered, want: n })
      }
    }
    const first = this.chunks[0]
    let out: Uint8Array
    if (n === 0) {
      out = new Uint8Array(0)
    } else if (first.byteLength >= n) {
      // the common case for small frames: no copy
      out = first.subarray(0, n)
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
    } else {
      out = new Uint8Array(n)
      let off = 0
      while (off < n) {
        const c = this.chunks[0]
        const take = Math.min(c.byteLength, n - off)
        out.set(c.subarray(0, take), off)
        off += take
        if (take === c.byteLength) this.chunks.shift()
        else this.chunks[0] = c.subarray(take)
      }
    }
    this.consumed(n)
    return out
  }

  private consumed (n: number): void {
    this.buffered -= n
    if (this.stream.readStatus === 'paused' && this.buffered <= this.highWaterMark / 2) this.stream.resume()
  }

  /** Resolve true once more data arrived, false at a clean end; throw if the stream failed. */
  private async fill (): Promise<boolean> {
    const before = this.received
    // data the stream holds back (paused, or the remote already ended) is dispatched on resume
    if (this.stream.readStatus === 'paused') this.stream.resume()
    while (this.received === before) {
      if (this.failure != null) throw this.failure
      if (this.remoteEnded && this.stream.readBufferLength === 0) return false
      await new Promise<void>(resolve => { this.wake = resolve })
      this.wake = undefined
    }
    return true
  }

  private readonly onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    if (data instanceof Uint8Array) {
      if (data.byteLength > 0) this.chunks.push(data)
    } else {
      for (const b of data) if (b.byteLength > 0) this.chunks.push(b)
    }
    this.buffered += data.byteLength
    this.received += data.byteLength
    if (this.buffered > this.highWaterMark && this.stream.readStatus === 'readable') this.stream.pause()
    this.wake?.()
  }

  private readonly onRemoteEnd = (): void => {
    this.remoteEnded = true
    this.wake?.()
  }

  private readonly onClose = (evt: StreamCloseEvent): void => {
    this.remoteEnded = true
    if (evt.error != null) {
      this.failure = evt.error
      // the stream dropped what it held; so do we, or a reader could finish a truncated frame
      this.chunks.length = 0
      this.buffered = 0
    }
    this.wake?.()
  }
}

/** Encode `n` as an unsigned LEB128 varint. */
export function encodeVarint (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new NetError(NetErrorCode.BAD_INPUT, `cannot varint-encode ${n}`)
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** `msg` with its varint length in front, in one buffer (one write, one yamux frame). */
export function lengthPrefixed (msg: Uint8Array): Uint8Array {
  const prefix = encodeVarint(msg.byteLength)
  const out = new Uint8Array(prefix.byteLength + msg.byteLength)
  out.set(prefix, 0)
  out.set(msg, prefix.byteLength)
  return out
}

/**
 * Send with backpressure. Two traps in @libp2p/utils 7 make the obvious
 * `if (!send(x)) await onDrain()` wrong: 'drain' fires as soon as the muxer can take *some* bytes
 * (one small yamux window update), and `onDrain()` keeps returning its first, already resolved
 * promise, so after the first drain it never waits again. Either way the write buffer grows by
 * a chunk per window update, without bound. So: wait on the 'drain' event itself, until the
 * buffer is back under `maxBuffered` bytes.
 */
export async function sendWithBackpressure (stream: MessageStream, data: Uint8Array, maxBuffered = 256 * 1024): Promise<void> {
  if (stream.send(data)) return
  while (stream.writeBufferLength > maxBuffered) {
    if (stream.status !== 'open') throw new NetError(NetErrorCode.STREAM_FAILED, `stream ${stream.status} while sending`)
    if (stream.writableNeedsDrain) {
      await nextDrain(stream)
    } else {
      // a drain already happened and the stream queued its own flush: let it run
      await new Promise<void>(resolve => setImmediate(resolve))
    }
  }
}

/** Resolve on the stream's next 'drain' event; reject if it closes first. */
async function nextDrain (stream: MessageStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    const onDrain = (): void => { done(); resolve() }
    const onClose = (evt: StreamCloseEvent): void => {
      done()
      reject(evt.error ?? new NetError(NetErrorCode.STREAM_FAILED, 'stream closed while waiting to send'))
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}

/**
 * Calls `onStall` once nothing `touch`ed it for `ms`: one timer that looks at the last touch, not
 * a timer re-armed per chunk (thousands per blob). `stop` when the transfer ends.
 */
export function watchStall (ms: number, onStall: () => void): { touch: () => void, stop: () => void } {
  let last = Date.now()
  let timer: ReturnType<typeof setTimeout>
  const check = (): void => {
    const quiet = Date.now() - last
    if (quiet >= ms) onStall()
    else timer = setTimeout(check, ms - quiet)
  }
  timer = setTimeout(check, ms)
  return { touch: () => { last = Date.now() }, stop: () => clearTimeout(timer) }
}

/** Send `data` in `chunkSize` slices (no copies), honouring backpressure between slices; `onSlice` after each one is taken. */
export async function sendChunked (stream: MessageStream, data: Uint8Array, chunkSize: number, onSlice?: () => void): Promise<void> {
  for (let off = 0; off < data.byteLength; off += chunkSize) {
    await sendWithBackpressure(stream, data.subarray(off, Math.min(off + chunkSize, data.byteLength)), chunkSize)
    onSlice?.()
  }
}
