// Typed errors of the data layer: bad partition specs, impossible shardings, bad sampler use, unusable local text.

export enum DataErrorCode {
  /** a partition string that is not `iid`, `dirichlet:<alpha>`, `speaker`, `era` or `group:<name>` */
  PartitionSyntax = 'ERR_DATA_PARTITION_SYNTAX',
  /** a Dirichlet concentration that is not a finite number > 0 */
  PartitionAlpha = 'ERR_DATA_PARTITION_ALPHA',
  /** a partition the dataset kind cannot take (Dirichlet label skew of a token set, groups of a classification set) */
  PartitionKind = 'ERR_DATA_PARTITION_KIND',
  /** a group partition (`speaker`, `era`) of a token set that has no such grouping of its documents */
  NoGrouping = 'ERR_DATA_NO_GROUPING',
  /** fewer non-empty groups than nodes: whole groups cannot give every node a shard */
  TooFewGroups = 'ERR_DATA_TOO_FEW_GROUPS',
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
  /** the shipped dataset package is missing or malformed, or a dataset's arrays disagree */
  LoadFailed = 'ERR_DATA_LOAD_FAILED',
  /** local text: the path does not exist */
  LocalMissing = 'ERR_DATA_LOCAL_MISSING',
  /** local text: the path (or a file in the folder) cannot be read, or is neither a folder nor a .jsonl file */
  LocalUnreadable = 'ERR_DATA_LOCAL_UNREADABLE',
  /** local text: no documents, or every document is empty */
  LocalEmpty = 'ERR_DATA_LOCAL_EMPTY',
  /** local text: bytes that are not valid UTF-8 (or a JSON string with a lone surrogate) */
  LocalEncoding = 'ERR_DATA_LOCAL_ENCODING',
  /** local text: a .jsonl line that is not valid JSON, or not a JSON object */
  LocalJson = 'ERR_DATA_LOCAL_JSON',
  /** local text: a .jsonl line whose object lacks the text field, or whose field is not a string */
  LocalField = 'ERR_DATA_LOCAL_FIELD',
  /** local text: no document holds the context + 1 bytes one training window needs */
  LocalTooShort = 'ERR_DATA_LOCAL_TOO_SHORT'
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
  constructor (
    code: DataErrorCode.BadNodeCount | DataErrorCode.BadShardOption | DataErrorCode.TooFewExamples | DataErrorCode.PartitionKind | DataErrorCode.NoGrouping | DataErrorCode.TooFewGroups,
    nodes: number, examples: number, message: string
  ) {
    super(code, message)
    this.name = 'ShardError'
    this.nodes = nodes
    this.examples = examples
  }
}

/** A node's own text data that cannot be used; `file` is the file (or folder) at fault, `line` its 1-based line in a .jsonl file. */
export class LocalTextError extends DataError {
  readonly file: string
  readonly line: number | undefined
  constructor (
    code: DataErrorCode.LocalMissing | DataErrorCode.LocalUnreadable | DataErrorCode.LocalEmpty | DataErrorCode.LocalEncoding |
    DataErrorCode.LocalJson | DataErrorCode.LocalField | DataErrorCode.LocalTooShort,
    file: string, line: number | undefined, message: string
  ) {
    super(code, message)
    this.name = 'LocalTextError'
    this.file = file
    this.line = line
  }
}

export class SamplerError extends DataError {
  constructor (code: DataErrorCode.BadBatch | DataErrorCode.BadIndex, message: string) {
    super(code, message)
    this.name = 'SamplerError'
  }
}
