// Public face of train/: the worker-backed trainer, device choice and checkpoints.
export * from './trainer.js'
export * from './device.js'
export * from './checkpoint.js'
export * from './errors.js'
export * from './central.js'
export * from './catalog.js'
export * from './steps.js'
export * from './schedule.js'
