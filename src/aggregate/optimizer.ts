// Outer optimizer: turns a round's folded pseudo-gradient into the next global model (SGD, Nesterov momentum).
import { AggregateError, AggregateErrorCode } from './errors.js'
import { checkFinite } from './input.js'

export interface OuterOptimizerOptions {
  /**
   * outer learning rate
   * @default 0.7
   */
  readonly lr: number
  /**
   * momentum coefficient μ; 0 disables momentum (and keeps no velocity)
   * @default 0.9
   */
  readonly momentum: number
  /**
   * Nesterov look-ahead (DiLoCo's outer optimizer) rather than heavy-ball momentum
   * @default true
   */
  readonly nesterov: boolean
}

/** DiLoCo's outer step: lr 0.7, Nesterov momentum 0.9. */
export const DILOCO_OUTER: OuterOptimizerOptions = { lr: 0.7, momentum: 0.9, nesterov: true }
/** Plain FedAvg: the new model is the weighted mean of the local models (θ − 1·mean Δ). */
export const FEDAVG_OUTER: OuterOptimizerOptions = { lr: 1, momentum: 0, nesterov: false }

/**
 * Everything the optimizer remembers between rounds. It is an explicit value, never
 * hidden in an optimizer object, because the aggregator rotates: every member applies
 * each commit's aggregate to its own copy, so the state is a deterministic function of
 * the commit chain and whoever is elected next continues from the same bytes.
 */
export interface OuterState {
  /** outer steps applied so far */
  readonly step: number
  /** momentum buffer v (float32, so it persists and compares bit-exactly); null means zeros */
  readonly velocity: Float32Array | null
}

/** Applies defaults and validates. */
export function createOuterOptimizerOptions (partial: Partial<OuterOptimizerOptions> = {}): OuterOptimizerOptions {
  const o = { ...DILOCO_OUTER, ...partial }
  if (!(Number.isFinite(o.lr) && o.lr > 0)) throw new AggregateError(AggregateErrorCode.BadParameter, `outer lr must be a finite number > 0, got ${o.lr}`)
  if (!(Number.isFinite(o.momentum) && o.momentum >= 0 && o.momentum < 1)) throw new AggregateError(AggregateErrorCode.BadParameter, `outer momentum must be in [0, 1), got ${o.momentum}`)
  if (typeof o.nesterov !== 'boolean') throw new AggregateError(AggregateErrorCode.BadParameter, 'nesterov must be a boolean')
  return o
}

/**
 * SGD on pseudo-gradients, PyTorch's convention, one coordinate at a time in float64:
 *
 *   v ← μ·v + Δ                    (stored as float32)
 *   g ← Δ + μ·v  (Nesterov)  or  v
 *   θ ← θ − lr·g                   (stored as float32)
 *
 * where Δ = mean(θ_global − θ_local) is the folded update. With μ = 0 and lr = 1 this is
 * FedAvg. `step` is pure: it returns a new model and state and never touches its inputs.
 */
export class OuterOptimizer {
  readonly options: OuterOptimizerOptions

  constructor (options: Partial<OuterOptimizerOptions> = {}) {
    this.options = createOuterOptimizerOptions(options)
  }

  /** The state before the first round. */
  initialState (): OuterState {
    return { step: 0, velocity: null }
  }

  step (theta: Float32Array, delta: Float32Array, state: OuterState): { theta: Float32Array, state: OuterState } {
    this.check(theta, delta, state)
    const { lr, momentum: mu, nesterov } = this.options
    const out = new Float32Array(theta.length)
    if (mu === 0) {
      for (let j = 0; j < theta.length; j++) out[j] = theta[j] - lr * delta[j]
      return { theta: out, state: { step: state.step + 1, velocity: null } }
    }
    const v0 = state.velocity
    const v = new Float32Array(theta.length)
    for (let j = 0; j < theta.length; j++) {
      v[j] = mu * (v0 === null ? 0 : v0[j]) + delta[j]
      const g = nesterov ? delta[j] + mu * v[j] : v[j]
      out[j] = theta[j] - lr * g
    }
    return { theta: out, state: { step: state.step + 1, velocity: v } }
  }

  /** Coordinate j of `step(...)`, alone: the new θ[j] and v[j] (for sampled verification). */
  stepAt (theta: Float32Array, delta: Float32Array, state: OuterState, j: number): { theta: number, velocity: number } {
    const { lr, momentum: mu, nesterov } = this.options
    if (mu === 0) return { theta: Math.fround(theta[j] - lr * delta[j]), velocity: 0 }
    const v = Math.fround(mu * (state.velocity === null ? 0 : state.velocity[j]) + delta[j])
    const g = nesterov ? delta[j] + mu * v : v
    return { theta: Math.fround(theta[j] - lr * g), velocity: v }
  }

  private check (theta: Float32Array, delta: Float32Array, state: OuterState): void {
    if (delta.length !== theta.length) throw new AggregateError(AggregateErrorCode.LengthMismatch, `update has ${delta.length} values, the model ${theta.length}`)
    if (state.velocity !== null && state.velocity.length !== theta.length) {
      throw new AggregateError(AggregateErrorCode.LengthMismatch, `momentum has ${state.velocity.length} values, the model ${theta.length}`)
    }
    if (!Number.isInteger(state.step) || state.step < 0) throw new AggregateError(AggregateErrorCode.BadParameter, `state step must be a non-negative integer, got ${state.step}`)
    checkFinite(delta)
  }
}
