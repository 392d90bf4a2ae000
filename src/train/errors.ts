// Typed errors of the local trainer: device selection, checkpoints, run-time failures.

export enum TrainErrorCode {
  BadDevice = 'ERR_TRAIN_BAD_DEVICE',
  DeviceUnavailable = 'ERR_TRAIN_DEVICE_UNAVAILABLE',
  CheckpointCorrupt = 'ERR_TRAIN_CHECKPOINT_CORRUPT',
  CheckpointLayout = 'ERR_TRAIN_CHECKPOINT_LAYOUT',
  CheckpointIo = 'ERR_TRAIN_CHECKPOINT_IO',
  WorkerFailed = 'ERR_TRAIN_WORKER_FAILED',
  BadInput = 'ERR_TRAIN_BAD_INPUT',
  /** a model paired with a dataset of a kind it does not accept (refused when a run is configured) */
  ModelDataMismatch = 'ERR_TRAIN_MODEL_DATA_MISMATCH',
  /** a model name the catalog does not know */
  UnknownModel = 'ERR_TRAIN_UNKNOWN_MODEL',
  /** an ONNX file that is not a model `tapestry export` wrote (or is damaged) */
  BadModelFile = 'ERR_TRAIN_BAD_MODEL_FILE'
}

export class TrainError extends Error {
  readonly code: TrainErrorCode
  constructor (code: TrainErrorCode, message: string) {
    super(message)
    this.name = 'TrainError'
    this.code = code
  }
}
