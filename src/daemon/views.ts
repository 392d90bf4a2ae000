// The control API's views of a running node, built from a narrow read-only source so they can be
// tested without a daemon.
import type { BulkView, ModelView, PeerView, PrivacyView, RefusedView, RoundHistory, StatusView } from './control-types.js'
import type { PeerInfo } from './presence.js'
import type { ReachabilityReport } from '../net/index.js'

/** What the views read. */
export interface ViewSource {
  peerId: string
  runId: string
  runName: string
  waiting: StatusView['waiting']
  refused: RefusedView
  device: string
  addrs: () => string[]
  reachability: () => ReachabilityReport
  /** open connections: remote peer and address */
  connections: () => Array<{ peerId: string, addr: string }>
  /** the round engine's position */
  round: number
  modelId: string
  /** candidates of the current round, aggregator first */
  candidates: readonly string[]
  /** members excluded for equivocation (ChainState.banned) */
  banned: readonly string[]
  /** port of the status page and metrics on 127.0.0.1 (null before they listen) */
  opsPort: number | null
  backups: number
  groupRole: (peerId: string) => { group: number, rank: number } | null
  peers: ReadonlyMap<string, PeerInfo>
  history: readonly RoundHistory[]
  modelRef: { round: number, cid: string } | undefined
  params: number
  layout: string
  bytes: { gossip: number, fetched: number, served: number }
  bulk: BulkView | null
  privacy: PrivacyView | null
}

/** "aggregator", "backup 2", "member", plus the group role in hierarchical mode. */
export function roleOf (s: Pick<ViewSource, 'candidates' | 'backups' | 'groupRole'>, peerId: string): string {
  const i = s.candidates.indexOf(peerId)
  const root = i === 0 ? 'aggregator' : i > 0 && i <= s.backups ? `backup ${i}` : 'member'
  const g = s.groupRole(peerId)
  if (g == null) return root
  const sub = g.rank === 0 ? ' sub-aggregator' : g.rank > 0 && g.rank <= s.backups ? ` sub-backup ${g.rank}` : ''
  return `${root}, group ${g.group}${sub}`
}

export function peerTable (s: ViewSource, paths = s.reachability().peers): PeerView[] {
  const conns = s.connections()
  const connected = new Set(conns.map(c => c.peerId))
  const ids = new Set([...connected, ...s.peers.keys()])
  ids.delete(s.peerId)
  return [...ids].map(id => ({
    peerId: id,
    addrs: conns.filter(c => c.peerId === id).map(c => c.addr),
    latencyMs: s.peers.get(id)?.latencyMs ?? null,
    role: roleOf(s, id),
    round: s.peers.get(id)?.round ?? -1,
    connected: connected.has(id),
    path: paths[id] ?? null
  }))
}

export function modelView (s: ViewSource): ModelView {
  return { cid: s.modelRef?.cid ?? null, round: s.round - 1, modelId: s.modelId, params: s.params, layout: s.layout }
}

export function statusView (s: ViewSource): StatusView {
  const reachability = s.reachability()
  return {
    peerId: s.peerId,
    runId: s.runId,
    runName: s.runName,
    waiting: s.waiting,
    refused: s.refused,
    round: s.round,
    aggregator: s.candidates[0] ?? null,
    role: roleOf(s, s.peerId),
    banned: [...s.banned],
    opsUrl: s.opsPort != null ? `http://127.0.0.1:${s.opsPort}/` : null,
    device: s.device,
    addrs: s.addrs(),
    reachability,
    peers: peerTable(s, reachability.peers),
    model: modelView(s),
    bytes: { sent: s.bytes.gossip + s.bytes.served, fetched: s.bytes.fetched, gossip: s.bytes.gossip, served: s.bytes.served },
    bulk: s.bulk,
    lastRound: s.history[s.history.length - 1] ?? null,
    privacy: s.privacy
  }
}
