// Checks on announces and commits before they touch round state: ignore what is merely stale,
// reject what no honest peer would send.
import type { RoundConfig } from './config.js'
import type { Announce, Commit } from './messages.js'
import { compareUtf8 } from './fold.js'

export interface Refusal {
  /** 'ignore': stale or from another fork; 'reject': malformed or dishonest */
  severity: 'ignore' | 'reject'
  reason: string
}

const ignore = (reason: string): Refusal => ({ severity: 'ignore', reason })
const reject = (reason: string): Refusal => ({ severity: 'reject', reason })

const isPositive = (n: number): boolean => typeof n === 'number' && Number.isFinite(n) && n > 0

export function validateAnnounce (a: Announce, modelId: string, cfg: RoundConfig): Refusal | null {
  if (a.baseModelId !== modelId) return ignore('computed from another model')
  if (typeof a.peerId !== 'string' || a.peerId === '') return reject('empty peer id')
  if (typeof a.updateId !== 'string' || a.updateId === '') return reject('empty update id')
  if (!isPositive(a.samples) || !Number.isInteger(a.samples)) return reject(`bad sample count ${a.samples}`)
  if (!isPositive(a.size) || !Number.isInteger(a.size)) return reject(`bad size ${a.size}`)
  if (!isPositive(a.capacity)) return reject(`bad capacity ${a.capacity}`)
  if (a.codec !== cfg.codec) return reject(`codec ${a.codec} is not the run's ${cfg.codec}`)
  return null
}

export function validateCommitShape (c: Commit, modelId: string, candidates: readonly string[], cfg: RoundConfig): Refusal | null {
  if (c.prevModelId !== modelId) return ignore('extends another model')
  if (!Number.isInteger(c.rank) || c.rank < 0 || c.rank >= candidates.length) return reject(`rank ${c.rank} out of range`)
  if (candidates[c.rank] !== c.aggregator) return reject(`${c.aggregator} is not the candidate of rank ${c.rank}`)
  if ((cfg.mode === 'aggregator') !== (c.aggregateId !== '')) return reject(`aggregate id ${c.aggregateId === '' ? 'missing' : 'unexpected'} in ${cfg.mode} mode`)
  // the O(included) part depends on the commit alone: checked once per commit object
  let r = includedChecks.get(c)
  if (r === undefined) { r = checkIncluded(c); includedChecks.set(c, r) }
  return r
}

const includedChecks = new WeakMap<Commit, Refusal | null>()

function checkIncluded (c: Commit): Refusal | null {
  if (!Array.isArray(c.included) || c.included.length === 0) return reject('no updates included')
  const peers = new Set<string>()
  for (let i = 0; i < c.included.length; i++) {
    const u = c.included[i]
    if (i > 0 && !(compareUtf8(c.included[i - 1].updateId, u.updateId) < 0)) return reject('included updates are not strictly sorted by id')
    if (peers.has(u.peerId)) return reject(`peer ${u.peerId} included twice`)
    peers.add(u.peerId)
    if (!isPositive(u.samples) || !Number.isInteger(u.samples)) return reject(`bad sample count ${u.samples}`)
    if (!isPositive(u.capacity)) return reject(`bad capacity ${u.capacity}`)
  }
  if (typeof c.newModelId !== 'string' || c.newModelId === '') return reject('empty model id')
  return null
}

const electorates = new WeakMap<Commit, { members: Array<{ peerId: string, capacity: number }>, ids: Set<string> }>()

/** Next round's electorate and the included ids of a commit, derived once per commit object. */
export function commitMembers (c: Commit): { members: Array<{ peerId: string, capacity: number }>, ids: Set<string> } {
  let e = electorates.get(c)
  if (e === undefined) {
    e = { members: c.included.map(u => ({ peerId: u.peerId, capacity: u.capacity })), ids: new Set(c.included.map(u => u.updateId)) }
    electorates.set(c, e)
  }
  return e
}
