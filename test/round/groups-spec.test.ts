// The worked example of protocols/groups.md, checked against the code so the spec cannot drift:
// seven members in groups of at most three, and where two late joiners fall.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { digestTicket, rendezvousDigest } from '../../src/election/index.js'
import { electionRank, groupOf, roundGroups } from '../../src/round/index.js'

const RUN = 'spec-run'
const PREV = 'bafkreibar3shgqpzy4swsc6oqxm4b3i6yy3zzugwjgmnkmwnwb32vf2lkq'
const electorate = Array.from({ length: 7 }, (_, i) => ({ peerId: `peer-${i}`, capacity: 1 }))
const groupsSeed = { runId: `${RUN}/groups`, round: 7, prevModelId: PREV }

test('groups.md §4: the groups draw ranks the electorate under "<runId>/groups" and cuts it 2 + 2 + 3', () => {
  const tickets = [4177493065380923, 1235733832562560, 2712730475534803, 4187531933082715, 1698727119362183, 710665510001003, 2730592227635474]
  electorate.forEach((m, i) => assert.equal(digestTicket(rendezvousDigest(groupsSeed, m.peerId)), tickets[i], m.peerId))
  assert.deepEqual(electionRank(`${RUN}/groups`, 7, PREV, electorate), ['peer-3', 'peer-0', 'peer-6', 'peer-2', 'peer-4', 'peer-1', 'peer-5'])
  const plan = roundGroups(electionRank, RUN, 7, PREV, electorate, 3)
  assert.equal(plan.count, 3)
  assert.deepEqual(plan.groups, [['peer-3', 'peer-0'], ['peer-6', 'peer-2'], ['peer-4', 'peer-1', 'peer-5']])
})

test('groups.md §4: a peer outside the electorate joins group ticket mod count', () => {
  const plan = roundGroups(electionRank, RUN, 7, PREV, electorate, 3)
  const seed = { runId: RUN, round: 7, prevModelId: PREV }
  assert.equal(digestTicket(rendezvousDigest(groupsSeed, 'late-a')), 1326313419245113)
  assert.equal(groupOf(plan, seed, 'late-a'), 1)
  assert.equal(digestTicket(rendezvousDigest(groupsSeed, 'late-d')), 3491192744032134)
  assert.equal(groupOf(plan, seed, 'late-d'), 0)
  assert.equal(groupOf(plan, seed, 'peer-5'), 2, 'an electorate member keeps its drawn group')
})
