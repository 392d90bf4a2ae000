// The run's gossip topics: publish signed presence / announce / commit / sub-aggregate messages, and
// deliver decoded, verified plain messages to handlers. Validation happens in gossipsub's topic
// validator, so invalid messages are neither delivered nor forwarded (and their sender is scored).
import { NetErrorCode, isNetError } from './errors.js'
import { decodeSigned, encodeSigned } from './gossip-codec.js'
import { TopicValidatorResult } from './pubsub.js'
import type { MessageOf, Verified } from './gossip-codec.js'
import type { SignedKind } from './signed.js'
import type { TapestryHost } from './host.js'
import type { PubSubMessage } from './pubsub.js'
import type { GossipsubMessage } from '@libp2p/gossipsub'
import type { Announce, Commit, Presence, SubAggregate } from '../round/messages.js'
import type { PeerId } from '@libp2p/interface'
import { PeerRateLimiter, type RateLimit } from './rate-limit.js'

/**
 * What an honest author sends in any 10 s, with room to spare (gossip.md §5): a presence every
 * 2 s and one after each applied commit; an announce per round (rounds of a small run can take
 * 0.4 s) and its republishes; a commit per round it wins or backs up; group folds likewise. Past
 * it, an author's messages are dropped and not forwarded.
 */
export const GOSSIP_AUTHOR_LIMITS: Readonly<Record<SignedKind, RateLimit>> = {
  presence: { count: 60, windowMs: 10_000 },
  announce: { count: 100, windowMs: 10_000 },
  commit: { count: 100, windowMs: 10_000 },
  subAggregate: { count: 200, windowMs: 10_000 }
}
/** What one relaying peer may hand this node on one topic in any 10 s, whoever wrote it (before any decoding). */
export const GOSSIP_RELAY_LIMIT: RateLimit = { count: 5_000, windowMs: 10_000 }

/** What a handler learns about a message besides its content. */
export interface GossipInfo {
  /** the author, proven by the envelope signature */
  from: string
  /** the neighbour that relayed it to us (may differ from `from`) */
  propagationSource: string
  /** the signed envelope bytes: store these (e.g. commits for the sync protocol) */
  bytes: Uint8Array
}

export type GossipHandler<T> = (message: T, info: GossipInfo) => void

/** The app's verdict on a message that decoded and verified: Lodestar-style accept / ignore / reject. */
export type GossipVerdict = 'accept' | 'ignore' | 'reject'

/**
 * Extra semantic validation, run after decoding and signature checks and before delivery and
 * forwarding; must be fast (gossipsub scores slow validation). 'ignore': drop without blame
 * (stale round, duplicate); 'reject': drop and penalise the relaying peer.
 */
export type GossipValidator<T> = (message: T, from: string) => GossipVerdict

export interface SubscribeOptions<T> {
  validate?: GossipValidator<T>
}

/** Decoding outcomes the validator has seen, handed to the delivery listener without re-verifying. */
type Decoded = Verified<MessageOf[SignedKind]>

interface TopicState {
  kind: SignedKind
  handlers: Set<GossipHandler<any>>
  validators: Set<GossipValidator<any>>
}

interface HostState {
  byTopic: Map<string, TopicState>
  decoded: WeakMap<PubSubMessage, Decoded>
  listener: (evt: CustomEvent<GossipsubMessage>) => void
}

const STATES = new WeakMap<TapestryHost, HostState>()

/**
 * Where a failed decode leaves the message. A newer wire version is no fault of the relayer
 * (ignore: drop unscored); anything malformed, forged or oversized is (reject: drop and score).
 */
function verdictFor (err: unknown): TopicValidatorResult {
  if (isNetError(err) && err.code === NetErrorCode.UNKNOWN_VERSION) return TopicValidatorResult.Ignore
  return TopicValidatorResult.Reject
}

function stateOf (host: TapestryHost): HostState {
  let st = STATES.get(host)
  if (st != null) return st
  const byTopic = new Map<string, TopicState>()
  const decoded = new WeakMap<PubSubMessage, Decoded>()
  const listener = (evt: CustomEvent<GossipsubMessage>): void => {
    const { msg, propagationSource } = evt.detail
    const topic = byTopic.get(msg.topic)
    if (topic == null) return
    const d = decoded.get(msg)
    // the validator always runs first for remote messages; a miss means a validator-less path
    if (d == null) {
      host.log?.warn({ topic: msg.topic }, 'gossip message delivered without validation: dropped')
      return
    }
    const info: GossipInfo = { from: d.from, propagationSource: propagationSource.toString(), bytes: d.bytes }
    for (const h of topic.handlers) {
      try {
        h(d.message, info)
      } catch (err) {
        host.log?.error({ err, topic: msg.topic }, 'gossip handler threw')
      }
    }
  }
  host.pubsub.addEventListener('gossipsub:message', listener)
  st = { byTopic, decoded, listener }
  STATES.set(host, st)
  return st
}

function topicFor (host: TapestryHost, kind: SignedKind): string {
  return host.topics[kind]
}

function subscribeKind<K extends SignedKind> (host: TapestryHost, kind: K, handler: GossipHandler<MessageOf[K]>, options: SubscribeOptions<MessageOf[K]> = {}): () => void {
  const st = stateOf(host)
  const topic = topicFor(host, kind)
  let ts = st.byTopic.get(topic)
  if (ts == null) {
    const created: TopicState = { kind, handlers: new Set(), validators: new Set() }
    ts = created
    st.byTopic.set(topic, created)
    const relayBudget = new PeerRateLimiter(GOSSIP_RELAY_LIMIT)
    const authorBudget = new PeerRateLimiter(GOSSIP_AUTHOR_LIMITS[created.kind])
    host.pubsub.topicValidators.set(topic, async (peer: PeerId, msg: PubSubMessage) => {
      // a relayer that floods a topic costs a decode per message: past its budget, nothing more is decoded
      if (!relayBudget.take(peer.toString())) {
        host.refused.gossipRate++
        return TopicValidatorResult.Ignore
      }
      let d: Decoded
      try {
        d = await decodeSigned(created.kind, msg.data, { runId: host.runId })
      } catch (err) {
        host.log?.debug({ topic, code: isNetError(err) ? err.code : String(err) }, 'gossip message refused')
        return verdictFor(err)
      }
      // membership first: a non-member's message never reaches a topic validator or the engine
      const gate = host.gossipGate(created.kind, d.message, d.from)
      if (gate !== 'accept') {
        if (gate === 'reject') host.refused.gossip++
        host.log?.debug({ topic, from: d.from, verdict: gate }, 'gossip message refused by the membership gate')
        return gate === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
      }
      // an author's budget counts only messages its signature verified: nobody can spend another's
      if (!authorBudget.take(d.from)) {
        host.refused.gossipRate++
        host.log?.debug({ topic, from: d.from }, 'gossip over its author\'s budget: dropped')
        return TopicValidatorResult.Ignore
      }
      for (const v of created.validators) {
        let verdict: GossipVerdict
        try {
          verdict = v(d.message, d.from)
        } catch (err) {
          host.log?.error({ err, topic }, 'gossip validator threw: ignoring message')
          verdict = 'ignore'
        }
        if (verdict === 'reject') return TopicValidatorResult.Reject
        if (verdict === 'ignore') return TopicValidatorResult.Ignore
      }
      st.decoded.set(msg, d)
      return TopicValidatorResult.Accept
    })
    host.pubsub.subscribe(topic)
  }
  const entry = ts
  entry.handlers.add(handler)
  if (options.validate != null) entry.validators.add(options.validate)
  let active = true
  return () => {
    if (!active) return
    active = false
    entry.handlers.delete(handler)
    if (options.validate != null) entry.validators.delete(options.validate)
    if (entry.handlers.size === 0) {
      host.pubsub.unsubscribe(topic)
      host.pubsub.topicValidators.delete(topic)
      st.byTopic.delete(topic)
    }
  }
}

export interface PublishResult {
  /** peers the message was sent to directly (0 is not an error: nobody may be listening yet) */
  recipients: number
  /** the signed envelope that went out */
  bytes: Uint8Array
}

async function publishKind<K extends SignedKind> (host: TapestryHost, kind: K, msg: MessageOf[K]): Promise<PublishResult> {
  const bytes = await encodeSigned(kind, msg, host.privateKey, host.peerId)
  const res = await host.pubsub.publish(topicFor(host, kind), bytes, { allowPublishToZeroTopicPeers: true, ignoreDuplicatePublishError: true })
  return { recipients: res.recipients.length, bytes }
}

/** Publish an already signed envelope again (e.g. a commit learned by sync, for peers that missed it). */
export async function republish (host: TapestryHost, kind: SignedKind, bytes: Uint8Array): Promise<number> {
  const res = await host.pubsub.publish(topicFor(host, kind), bytes, { allowPublishToZeroTopicPeers: true, ignoreDuplicatePublishError: true })
  return res.recipients.length
}

export async function publishPresence (host: TapestryHost, msg: Presence): Promise<PublishResult> {
  return await publishKind(host, 'presence', msg)
}
export async function publishAnnounce (host: TapestryHost, msg: Announce): Promise<PublishResult> {
  return await publishKind(host, 'announce', msg)
}
export async function publishCommit (host: TapestryHost, msg: Commit): Promise<PublishResult> {
  return await publishKind(host, 'commit', msg)
}

export async function publishSubAggregate (host: TapestryHost, msg: SubAggregate): Promise<PublishResult> {
  return await publishKind(host, 'subAggregate', msg)
}

/** Subscribe to presence; returns an unsubscribe function. */
export function subscribePresence (host: TapestryHost, handler: GossipHandler<Presence>, options?: SubscribeOptions<Presence>): () => void {
  return subscribeKind(host, 'presence', handler, options)
}
/** Subscribe to announces; returns an unsubscribe function. */
export function subscribeAnnounce (host: TapestryHost, handler: GossipHandler<Announce>, options?: SubscribeOptions<Announce>): () => void {
  return subscribeKind(host, 'announce', handler, options)
}
/** Subscribe to commits; returns an unsubscribe function. */
export function subscribeCommit (host: TapestryHost, handler: GossipHandler<Commit>, options?: SubscribeOptions<Commit>): () => void {
  return subscribeKind(host, 'commit', handler, options)
}

/** Subscribe to group folds (hierarchical mode); returns an unsubscribe function. */
export function subscribeSubAggregate (host: TapestryHost, handler: GossipHandler<SubAggregate>, options?: SubscribeOptions<SubAggregate>): () => void {
  return subscribeKind(host, 'subAggregate', handler, options)
}

/** Peers currently in our mesh for a topic kind (for status pages and tests). */
export function meshPeers (host: TapestryHost, kind: SignedKind): string[] {
  return host.pubsub.getMeshPeers(topicFor(host, kind))
}

/** Peers known to subscribe to a topic kind. */
export function topicSubscribers (host: TapestryHost, kind: SignedKind): string[] {
  return host.pubsub.getSubscribers(topicFor(host, kind)).map(p => p.toString())
}
