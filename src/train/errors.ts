// Typed errors of the local trainer: device selection, checkpoints, run-time failures.

export enum TrainErrorCode {
  BadDevice = 'ERR_BAD_DEVICE',
  DeviceUnavailable = 'ERR_DEVICE_UNAVAILABLE',
  CheckpointCorrupt = 'ERR_CHECKPOINT_CORRUPT',
  CheckpointLayout = 'ERR_CHECKPOINT_LAYOUT',
  CheckpointIo = 'ERR_CHECKPOINT_IO',
  WorkerFailed = 'ERR_WORKER_FAILED',
  BadInput = 'ERR_BAD_INPUT'
}

export class TrainError extends Error {
  readonly code: TrainErrorCode
  constructor (code: TrainErrorCode, message: string) {
    super(message)
    this.name = 'TrainError'
    this.code = code
  }
}
