// Typed errors of the tensor helpers: a parameter layout that cannot be built or does not fit.

export const TensorErrorCode = {
  /** a duplicate tensor name, a bad dimension, or a vector of another length than its layout */
  LAYOUT: 'ERR_TENSOR_LAYOUT'
} as const

export type TensorErrorCode = typeof TensorErrorCode[keyof typeof TensorErrorCode]

export class LayoutError extends Error {
  readonly code: TensorErrorCode = TensorErrorCode.LAYOUT
  constructor (message: string) {
    super(message)
    this.name = 'LayoutError'
  }
}
