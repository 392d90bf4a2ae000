// Typed errors of the graph layer: callers and tests branch on `code`, never on message text.

export enum GraphErrorCode {
  /** autodiff met an op on the loss path that has no gradient rule */
  NO_GRADIENT = 'ERR_GRAPH_NO_GRADIENT',
  /** a rule or builder needed a static fact (rank, constant input) that is not known */
  SHAPE = 'ERR_GRAPH_SHAPE',
  /** a value was used in a graph that cannot see it, or a name was reused */
  SCOPE = 'ERR_GRAPH_SCOPE',
  /** a bad argument to a builder function (wrong dtype, bad option) */
  INVALID = 'ERR_GRAPH_INVALID',
  /** a model or optimizer spec that cannot be built */
  SPEC = 'ERR_GRAPH_SPEC'
}

export class GraphError extends Error {
  readonly code: GraphErrorCode
  constructor (code: GraphErrorCode, message: string) {
    super(message)
    this.code = code
    this.name = 'GraphError'
  }
}

/** No gradient rule is registered for an op that lies between a wrt value and the loss. */
export class MissingGradientError extends GraphError {
  readonly opType: string
  readonly domain: string
  readonly nodeName: string
  constructor (opType: string, domain: string, nodeName: string) {
    super(GraphErrorCode.NO_GRADIENT, `no gradient rule for op ${domain === '' ? '' : domain + '::'}${opType} (node ${nodeName})`)
    this.name = 'MissingGradientError'
    this.opType = opType
    this.domain = domain
    this.nodeName = nodeName
  }
}

export class ShapeError extends GraphError {
  constructor (message: string) {
    super(GraphErrorCode.SHAPE, message)
    this.name = 'ShapeError'
  }
}

export class ScopeError extends GraphError {
  constructor (message: string) {
    super(GraphErrorCode.SCOPE, message)
    this.name = 'ScopeError'
  }
}

export class InvalidArgumentError extends GraphError {
  constructor (message: string) {
    super(GraphErrorCode.INVALID, message)
    this.name = 'InvalidArgumentError'
  }
}

export class SpecError extends GraphError {
  constructor (message: string) {
    super(GraphErrorCode.SPEC, message)
    this.name = 'SpecError'
  }
}
