// Typed errors of the simulator: every refusal carries a stable `code` so the CLI and tests
// branch on it, never on message text, and bad settings fail before any simulated time runs.

/**
 * Stable error codes, `ERR_SIM_<WHAT>` and unique across the project. Values are part of the
 * public API: never rename, only add (new codes go at the end of this object; `SimErrorCode`
 * and `isSimError` pick them up by themselves).
 */
export const SimErrorCode = {
  /** a simulator setting is out of its domain: node count, link numbers, queue time, options */
  CONFIG: 'ERR_SIM_CONFIG',
  /** a topology spec that does not parse or whose parameters cannot build a graph */
  TOPOLOGY: 'ERR_SIM_TOPOLOGY',
  /** the topology would leave some node unreachable: no run could say anything about it */
  DISCONNECTED: 'ERR_SIM_TOPOLOGY_DISCONNECTED',
  /** an edge-list file line does not parse; `detail.line` is 1-based */
  EDGE_LIST: 'ERR_SIM_EDGE_LIST',
  /** a node index outside [0, n) handed to the topology or the network model */
  NODE_RANGE: 'ERR_SIM_NODE_RANGE',
  /** an attack spec that names no known attack kind (signflip, nan, noise, replay, steal, inflate, censor) */
  ATTACK: 'ERR_SIM_ATTACK'
} as const

export type SimErrorCode = typeof SimErrorCode[keyof typeof SimErrorCode]

type Detail = Record<string, string | number | boolean>

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(SimErrorCode))

/** Base of every error thrown by src/sim. `detail` holds machine-readable fields. */
export class SimError extends Error {
  readonly code: SimErrorCode
  readonly detail: Readonly<Detail>

  constructor (code: SimErrorCode, message: string, detail: Detail = {}) {
    super(message)
    this.name = 'SimError'
    this.code = code
    this.detail = detail
  }
}

/** What is wrong with a refused edge-list line: callers and tests branch on this, not on text. */
export type EdgeListProblem =
  /** not 2–5 fields */
  | 'field-count'
  /** an endpoint that is not a non-negative integer */
  | 'bad-node'
  | 'self-loop'
  /** the same undirected edge twice; `detail.first` is the earlier line */
  | 'duplicate'
  /** a link field that does not parse as a number; `field` names it */
  | 'not-a-number'
  /** a link field out of its domain; `field` names it */
  | 'bad-link'

/** A line of an edge-list file was refused; `line` is 1-based so editors can jump to it. */
export class EdgeListError extends SimError {
  readonly line: number
  readonly problem: EdgeListProblem
  /** the link field refused (latencyMs, bandwidthMBps, loss), for 'not-a-number' and 'bad-link' */
  readonly field?: string

  constructor (line: number, problem: EdgeListProblem, reason: string, detail: Detail = {}, field?: string) {
    super(SimErrorCode.EDGE_LIST, `edge list line ${line}: ${reason}`, { line, problem, reason, ...detail, ...(field !== undefined ? { field } : {}) })
    this.name = 'EdgeListError'
    this.line = line
    this.problem = problem
    if (field !== undefined) this.field = field
  }
}

/** True when `e` is one of ours with a known code. */
export function isSimError (e: unknown): e is SimError {
  return e instanceof SimError && ALL_CODES.has(e.code)
}

/** User-supplied spec strings can be long: keep messages bounded. */
export function clip (s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
