// Public face of the net layer: the libp2p host, gossip topics, blob transfer and chain sync.
export { createTapestryHost, runTopics, dhtProtocol, mdnsServiceTag, runUserAgent, runOfUserAgent, YAMUX_SPEC_INITIAL_WINDOW } from './host.js'
export type { TapestryHost, TapestryHostOptions, TapestryYamuxOptions, TapestryServices, RunTopics, GateCounters, GossipGate } from './host.js'
export {
  publishPresence, publishAnnounce, publishCommit, publishSubAggregate, republish,
  subscribePresence, subscribeAnnounce, subscribeCommit, subscribeSubAggregate, meshPeers, topicSubscribers, GOSSIP_AUTHOR_LIMITS, GOSSIP_RELAY_LIMIT
} from './topics.js'
export type { GossipInfo, GossipHandler, GossipValidator, GossipVerdict, SubscribeOptions, PublishResult } from './topics.js'
export {
  encodePresence, encodeAnnounce, encodeCommit, encodeSubAggregate, decodePresence, decodeAnnounce, decodeCommit, decodeSubAggregate,
  encodeSigned, decodeSigned, GOSSIP_VERSION, MAX_GOSSIP_BYTES, MAX_INCLUDED
} from './gossip-codec.js'
export type { Verified, GossipDecodeOptions, MessageOf } from './gossip-codec.js'
export type { SignedKind } from './signed.js'
export { blobCid, parseBlobCid, toBlobCid, decodeBlobCid, isBlobCidString, RAW_CODEC, SHA2_256_CODE } from './cid.js'
export type { BlobCid } from './cid.js'
export { MemoryBlobStore } from './blob-store.js'
export type { BlobStore, MemoryBlobStoreOptions, Awaitable } from './blob-store.js'
export { serveBlobs, blobProtocol, BLOB_VERSION } from './blob-server.js'
export type { BlobServer, BlobServerOptions } from './blob-server.js'
export { fetchBlob, type BulkFetchOptions } from './blob-fetch.js'
export { BulkServer, BulkClient, bulkKey, ipOf, BULK_CIPHERS, type BulkServerOptions, type BulkClientOptions, type BulkReceive } from './bulk.js'
export type { FetchBlobOptions, FetchBlobProgress } from './blob-fetch.js'
export { serveSync, requestChain, catchUp, syncProtocol, SYNC_VERSION, MAX_SYNC_COMMITS } from './sync.js'
export type { SyncServerOptions, RequestChainOptions, ChainPage, CatchUpOptions, CatchUpResult, ModelRef } from './sync.js'
export { NetError, NetErrorCode, WireError, TransferError, FetchError, isNetError } from './errors.js'
export type { ProviderFailure } from './errors.js'
export type { PubSub } from './pubsub.js'
export { Libp2pRoundTransport, encodeState, decodeState, STATE_KIND, type Libp2pTransportOptions } from './round-transport.js'
export { serveMembership, membershipProtocol, MAX_MEMBERSHIP_DOC_BYTES, type MembershipExchange, type MembershipExchangeOptions, type DocVerdict } from './membership.js'
export { catalogKey, signCatalogEntry, openCatalogRecord, CatalogEntrySchema, type CatalogEntry } from './catalog.js'
export { addressKind, type Reachability, type ReachabilityReport, type ConnectionPath, type AddressKind } from './reachability.js'
export type { TapestryNatOptions } from './nat.js'
export { proofHolds, signProof, type ProofContext } from './announce-proof.js'
