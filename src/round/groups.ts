// Hierarchical mode's groups: the electorate split into ⌈E / groupSize⌉ groups of near-equal size,
// each folded by its own sub-aggregator. Pure: every node derives the same plan for a round.
import { digestTicket, rendezvousDigest } from '../election/index.js'
import type { Member, RoundDeps } from './types.js'

export interface GroupPlan {
  /** number of groups, ≥ 1 */
  count: number
  /** members of each group in rendezvous order: [sub-aggregator, sub-backup 1, …] */
  groups: string[][]
  /** group of an electorate member */
  index: Map<string, number>
}

/** Seed suffix of the grouping draw, so groups are independent of who aggregates the root. */
export const GROUPS_DOMAIN = '/groups'

const plans = new WeakMap<readonly string[], Map<number, GroupPlan>>()

/**
 * Cuts the rendezvous order of the electorate into contiguous groups. Re-drawn each round (the
 * seed includes the previous model id), so the sub-aggregator role rotates like the root's. Plans
 * are memoised per ranking array: a simulator that shares one ranking among its nodes shares the plan.
 */
export function planGroups (order: readonly string[], groupSize: number): GroupPlan {
  let bySize = plans.get(order)
  const hit = bySize?.get(groupSize)
  if (hit != null) return hit
  const n = order.length
  const count = Math.max(1, Math.ceil(n / groupSize))
  const groups: string[][] = []
  const index = new Map<string, number>()
  for (let g = 0; g < count; g++) {
    const members = order.slice(Math.floor(g * n / count), Math.floor((g + 1) * n / count))
    for (const p of members) index.set(p, g)
    groups.push(members)
  }
  const plan = { count, groups, index }
  if (bySize == null) { bySize = new Map(); plans.set(order, bySize) }
  bySize.set(groupSize, plan)
  return plan
}

/**
 * The groups of a round: its electorate ranked under the groups seed (`rank` is the election's,
 * as in RoundDeps), cut by planGroups. The engine and the chain replay derive them alike.
 */
export function roundGroups (rank: NonNullable<RoundDeps['rank']>, runId: string, round: number, modelId: string, electorate: Member[], groupSize: number): GroupPlan {
  return planGroups(rank(runId + GROUPS_DOMAIN, round, modelId, electorate), groupSize)
}

/**
 * Group of any peer: its electorate group, or for a peer outside the electorate (a late joiner) a
 * hash of the round's seed and its id, so every node places it in the same group.
 */
export function groupOf (plan: GroupPlan, seed: { runId: string, round: number, prevModelId: string }, peerId: string): number {
  const g = plan.index.get(peerId)
  if (g !== undefined) return g
  if (plan.count === 1) return 0
  const ticket = digestTicket(rendezvousDigest({ runId: seed.runId + GROUPS_DOMAIN, round: seed.round, prevModelId: seed.prevModelId }, peerId))
  return ticket % plan.count
}
