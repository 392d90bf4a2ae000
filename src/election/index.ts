// Public face of election/: who aggregates each round (rendezvous hashing) and when a backup takes over.
export { ElectionError, ElectionErrorCode } from './errors.js'
export { type ElectionSeed, ELECTION_DOMAIN, seedHasher, rendezvousDigest, digestTicket, ticketToUnit, weightedScore } from './score.js'
export { type Member, type ElectionInput, type RankedMember, rankMembers, electAggregators } from './elect.js'
export { HandoverSchedule, createHandoverSchedule, type HandoverScheduleOptions, type Responsibility } from './schedule.js'
