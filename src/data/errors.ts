// Typed errors of the data layer: bad partition specs, impossible shardings, bad sampler use.

export enum DataErrorCode {
  /** a partition string that is neither `iid` nor `dirichlet:<alpha>` */
  PartitionSyntax = 'ERR_DATA_PARTITION_SYNTAX',
  /** a Dirichlet concentration that is not a finite number > 0 */
  PartitionAlpha = 'ERR_DATA_PARTITION_ALPHA',
  /** a partition the dataset kind cannot take (Dirichlet label skew of a token set) */
  PartitionKind = 'ERR_DATA_PARTITION_KIND',
  /** node count not a positive integer */
  BadNodeCount = 'ERR_DATA_BAD_NODE_COUNT',
  /** a shard option out of range (minPerShard below 1) */
  BadShardOption = 'ERR_DATA_BAD_SHARD_OPTION',
  /** fewer examples than nodes × minimum shard size: some shard would stay empty */
  TooFewExamples = 'ERR_DATA_TOO_FEW_EXAMPLES',
  /** batch size or batch count not a positive integer, or an empty index set */
  BadBatch = 'ERR_DATA_BAD_BATCH',
  /** an example index outside the dataset */
  BadIndex = 'ERR_DATA_BAD_INDEX',
  /** the shipped dataset package is missing or malformed */
  LoadFailed = 'ERR_DATA_LOAD_FAILED'
}

/** Base of every data error; `code` is stable, the message is for people. */
export class DataError extends Error {
  readonly code: DataErrorCode
  constructor (code: DataErrorCode, message: string) {
    super(message)
    this.name = 'DataError'
    this.code = code
  }
}

export class PartitionParseError extends DataError {
  /** the text that failed to parse */
  readonly input: string
  constructor (code: DataErrorCode.PartitionSyntax | DataErrorCode.PartitionAlpha, input: string, message: string) {
    super(code, message)
    this.name = 'PartitionParseError'
    this.input = input
  }
}

export class ShardError extends DataError {
  readonly nodes: number
  readonly examples: number
  constructor (code: DataErrorCode.BadNodeCount | DataErrorCode.BadShardOption | DataErrorCode.TooFewExamples | DataErrorCode.PartitionKind, nodes: number, examples: number, message: string) {
    super(code, message)
    this.name = 'ShardError'
    this.nodes = nodes
    this.examples = examples
  }
}

export class SamplerError extends DataError {
  constructor (code: DataErrorCode.BadBatch | DataErrorCode.BadIndex, message: string) {
    super(code, message)
    this.name = 'SamplerError'
  }
}
