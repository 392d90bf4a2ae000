// Named built-in models and datasets, shared by `tapestry train`, the simulator and the daemon.
import type { ModelSpec, OptimizerSpec } from '../graph/index.js'
import { loadMnist, type Dataset } from '../data/index.js'

export const MODEL_NAMES = ['mlp'] as const
export type ModelName = typeof MODEL_NAMES[number]
export const DATA_NAMES = ['mnist'] as const
export type DataName = typeof DATA_NAMES[number]

export function modelSpec (name: ModelName, data: Dataset): ModelSpec {
  switch (name) {
    case 'mlp': return { kind: 'mlp', sizes: [data.featureShape.reduce((a, b) => a * b, 1), 256, data.numClasses] }
  }
}

export function loadData (name: DataName): { train: Dataset, test: Dataset } {
  switch (name) {
    case 'mnist': return loadMnist()
  }
}

/** Inner optimizer used for local training unless a caller overrides it. */
export const DEFAULT_INNER_OPTIMIZER: OptimizerSpec = { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }
export const DEFAULT_INNER_LR = 1e-3
