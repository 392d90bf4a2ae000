// Public face of round/: the transport-agnostic round state machine and its messages.
export * from './messages.js'
export * from './types.js'
export * from './config.js'
export * from './errors.js'
export * from './engine.js'
export { aggregateUpdates, outerStep, modelBytes, compareUtf8 } from './fold.js'
export { planGroups, roundGroups, groupOf, GROUPS_DOMAIN, type GroupPlan } from './groups.js'
export { checkChain, electionRank, type ChainHead, type ChainCheck } from './chain-check.js'
