// How admissions and membership changes travel between members: gossiped on the run's membership
// topic when issued, and exchanged in full over /tapestry/<runId>/membership/1.0.0 each time two
// members connect (a member that was offline when a document was gossiped learns it then).
// Documents are self-signed JSON (protocols/manifest.md §4–5); the caller checks them.
import { peerIdFromString } from '@libp2p/peer-id'
import { NetError, NetErrorCode } from './errors.js'
import { StreamReader, lengthPrefixed, sendWithBackpressure } from './frame.js'
import { TopicValidatorResult } from './pubsub.js'
import { dialMemberProtocol } from './member-dial.js'
import type { TapestryHost } from './host.js'
import type { PeerId, Stream, Connection } from '@libp2p/interface'

/** Largest single document on the topic (an admission with an invitation is under 1 KiB). */
export const MAX_MEMBERSHIP_DOC_BYTES = 16 * 1024
/** Largest full exchange: about 16,000 documents. */
export const MAX_MEMBERSHIP_LIST_BYTES = 8 * 1024 * 1024

export function membershipProtocol (runId: string): string {
  return `/tapestry/${runId}/membership/1.0.0`
}

/** 'new': checked and kept; 'known': held already; 'invalid': refused (the sender is scored down on gossip). */
export type DocVerdict = 'new' | 'known' | 'invalid'

export interface MembershipExchangeOptions {
  /** every document held, to hand to a member that connects */
  list: () => unknown[]
  /** check one received document and keep it if valid */
  accept: (doc: unknown, from: string) => Promise<DocVerdict>
  /** @default 10_000 */
  timeoutMs?: number
}

export interface MembershipExchange {
  /** gossip a document to the members (after accepting it locally) */
  publish: (doc: unknown) => Promise<number>
  /** ask one peer for all its documents now; resolves to how many were new */
  pull: (peer: PeerId | string) => Promise<number>
  stop: () => Promise<void>
}

function parseJson (bytes: Uint8Array): unknown {
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
}

export async function serveMembership (host: TapestryHost, o: MembershipExchangeOptions): Promise<MembershipExchange> {
  const protocol = membershipProtocol(host.runId)
  const topic = host.topics.membership
  const timeoutMs = o.timeoutMs ?? 10_000

  await host.libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
    if (!host.admits(connection.remotePeer.toString())) {
      host.refused.streams++
      stream.abort(new NetError(NetErrorCode.BAD_INPUT, 'not a member of this run'))
      return
    }
    try {
      await sendWithBackpressure(stream, lengthPrefixed(new TextEncoder().encode(JSON.stringify(o.list()))))
      await stream.close()
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }, { maxInboundStreams: 4, runOnLimitedConnection: true })

  host.pubsub.topicValidators.set(topic, async (peer: PeerId, msg) => {
    if (msg.data.byteLength > MAX_MEMBERSHIP_DOC_BYTES) return TopicValidatorResult.Reject
    let doc: unknown
    try { doc = parseJson(msg.data) } catch { return TopicValidatorResult.Reject }
    const v = await o.accept(doc, peer.toString())
    return v === 'new' ? TopicValidatorResult.Accept : v === 'known' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
  })
  host.pubsub.subscribe(topic)

  const pull = async (peer: PeerId | string): Promise<number> => {
    const id = typeof peer === 'string' ? peerIdFromString(peer) : peer
    const stream = await dialMemberProtocol(host.libp2p, id, protocol, { signal: AbortSignal.timeout(timeoutMs), runOnLimitedConnection: true, log: host.log })
    const reader = new StreamReader(stream, { highWaterMark: MAX_MEMBERSHIP_LIST_BYTES + 16 })
    try {
      await stream.close()
      const docs = parseJson(await reader.readFrame(MAX_MEMBERSHIP_LIST_BYTES))
      if (!Array.isArray(docs)) throw new NetError(NetErrorCode.MALFORMED, 'membership list is not an array')
      let fresh = 0
      for (const d of docs) if (await o.accept(d, id.toString()) === 'new') fresh++
      return fresh
    } finally {
      reader.release()
    }
  }

  // every member that connects (and proved which run it is on) is asked for what it holds
  const onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { peerId, protocols } = evt.detail
    if (!protocols.includes(protocol) || !host.admits(peerId.toString())) return
    pull(peerId).catch(err => host.log?.debug({ peer: peerId.toString(), err: String(err) }, 'membership exchange failed'))
  }
  host.libp2p.addEventListener('peer:identify', onIdentify)

  return {
    publish: async doc => {
      const res = await host.pubsub.publish(topic, new TextEncoder().encode(JSON.stringify(doc)), { allowPublishToZeroTopicPeers: true, ignoreDuplicatePublishError: true })
      return res.recipients.length
    },
    pull,
    stop: async () => {
      host.libp2p.removeEventListener('peer:identify', onIdentify)
      host.pubsub.unsubscribe(topic)
      host.pubsub.topicValidators.delete(topic)
      await host.libp2p.unhandle(protocol)
    }
  }
}
