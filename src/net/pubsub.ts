// The slice of @libp2p/gossipsub Tapestry uses, as one local interface: the exported GossipSub
// type lacks publish options, getMeshPeers and reportMessageValidationResult, and one narrow
// interface beats casts scattered over the code (and is what a fake implements in tests).
import type { Message, TopicValidatorFn, TopicValidatorResult, PublishResult, GossipsubMessage } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'

export type { Message as PubSubMessage, TopicValidatorFn }
export { TopicValidatorResult } from '@libp2p/gossipsub'

export interface PublishOptions {
  /** resolve with zero recipients instead of throwing when nobody listens; Tapestry always sets it */
  allowPublishToZeroTopicPeers?: boolean
  /** a duplicate (already seen) message resolves instead of throwing */
  ignoreDuplicatePublishError?: boolean
}

export interface PubSub {
  subscribe: (topic: string) => void
  unsubscribe: (topic: string) => void
  publish: (topic: string, data: Uint8Array, options?: PublishOptions) => Promise<PublishResult>
  getTopics: () => string[]
  getSubscribers: (topic: string) => PeerId[]
  getPeers: () => PeerId[]
  /** peer id strings in our mesh for `topic` */
  getMeshPeers: (topic: string) => string[]
  reportMessageValidationResult: (msgId: string, propagationSource: string, acceptance: TopicValidatorResult) => void
  /** a peer's gossipsub score (negative after rejected deliveries) */
  getScore: (peerId: string) => number
  topicValidators: Map<string, TopicValidatorFn>
  addEventListener: (type: 'gossipsub:message', listener: (evt: CustomEvent<GossipsubMessage>) => void) => void
  removeEventListener: (type: 'gossipsub:message', listener: (evt: CustomEvent<GossipsubMessage>) => void) => void
}

/** View a gossipsub service through the narrow interface (the one cast in the code base). */
export function asPubSub (service: unknown): PubSub {
  const s = service as Partial<PubSub>
  for (const m of ['subscribe', 'unsubscribe', 'publish', 'getMeshPeers', 'reportMessageValidationResult', 'addEventListener', 'getScore'] as const) {
    if (typeof s[m] !== 'function') throw new TypeError(`pubsub service lacks ${m}()`)
  }
  if (!(s.topicValidators instanceof Map)) throw new TypeError('pubsub service lacks topicValidators')
  return s as PubSub
}
