// Typed errors of folding updates and of the outer optimizer.

export enum AggregateErrorCode {
  /** nothing to fold */
  NoUpdates = 'ERR_AGGREGATE_NO_UPDATES',
  /** an update (or optimizer state, or claimed result) of another length than the rest */
  LengthMismatch = 'ERR_AGGREGATE_LENGTH_MISMATCH',
  /** NaN or ±Infinity inside an update: one such value would poison every coordinate it touches */
  NonFinite = 'ERR_AGGREGATE_NON_FINITE',
  /** a sample weight that is negative, NaN or infinite */
  BadWeight = 'ERR_AGGREGATE_BAD_WEIGHT',
  /** the included updates carry no weight at all, so there is no mean */
  ZeroTotalWeight = 'ERR_AGGREGATE_ZERO_TOTAL_WEIGHT',
  /** the same update id twice: an update is used exactly once */
  DuplicateId = 'ERR_AGGREGATE_DUPLICATE_ID',
  /** ids added to a streaming fold out of ascending order, which would break bit-exact recomputation */
  OutOfOrder = 'ERR_AGGREGATE_OUT_OF_ORDER',
  /** a rule or optimizer parameter out of range (trim fraction, clip norm, learning rate, …) */
  BadParameter = 'ERR_AGGREGATE_BAD_PARAMETER',
  /** Multi-Krum needs n > 2f + 2 updates to tolerate f faulty ones */
  KrumTooManyFaulty = 'ERR_AGGREGATE_KRUM_F_TOO_LARGE',
  /** a rule string that does not parse */
  RuleSyntax = 'ERR_AGGREGATE_RULE_SYNTAX',
  /** a fold rule that needs more updates than any fold of the run can have (e.g. krum:2 with 4 members) */
  RuleInfeasible = 'ERR_AGGREGATE_RULE_INFEASIBLE'
}

/** Base of every aggregation error; `code` is stable, the message is for people. */
export class AggregateError extends Error {
  readonly code: AggregateErrorCode
  /** the update the error is about, where there is one (hex for byte ids) */
  readonly updateId?: string
  constructor (code: AggregateErrorCode, message: string, updateId?: string) {
    super(message)
    this.name = 'AggregateError'
    this.code = code
    if (updateId !== undefined) this.updateId = updateId
  }
}
