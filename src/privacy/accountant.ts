// The node's running privacy account: every release it makes is recorded as (σ, q, steps)
// and ε is recomputed from that history, so the account survives a restart as plain data.
import { DEFAULT_ORDERS, computeRdp, checkOrders } from './rdp.js'
import { epsilonFromRdp, type EpsilonResult } from './conversion.js'

/** One run of identical releases; consecutive equal entries are merged. */
export interface AccountEntry {
  readonly noiseMultiplier: number
  readonly sampleRate: number
  readonly steps: number
}

/**
 * RDP accountant for the (Poisson-)subsampled Gaussian mechanism, like Opacus'
 * `RDPAccountant`. In Tapestry one round is one release of a node's clipped and noised
 * update, so the default sample rate is 1 (the plain Gaussian mechanism); a rate < 1 is for
 * a node that Poisson-samples the examples it trains on each round.
 */
export class RdpAccountant {
  readonly orders: readonly number[]
  private readonly entries: AccountEntry[] = []
  /** total RDP per order, recomputed from `entries` when they change: steps are cheap, ε is not */
  private total: number[] | undefined

  constructor (orders: readonly number[] = DEFAULT_ORDERS, history: readonly AccountEntry[] = []) {
    checkOrders(orders)
    this.orders = Object.freeze([...orders])
    for (const e of history) this.step(e.noiseMultiplier, e.sampleRate, e.steps)
  }

  /** Records `steps` releases with noise multiplier σ at sample rate q. */
  step (noiseMultiplier: number, sampleRate = 1, steps = 1): this {
    // validated now (one order suffices), so a bad release is refused where it is recorded
    computeRdp(sampleRate, noiseMultiplier, steps, [2])
    if (steps === 0) return this
    this.total = undefined
    const last = this.entries.at(-1)
    if (last !== undefined && last.noiseMultiplier === noiseMultiplier && last.sampleRate === sampleRate) {
      this.entries[this.entries.length - 1] = { ...last, steps: last.steps + steps }
    } else {
      this.entries.push({ noiseMultiplier, sampleRate, steps })
    }
    return this
  }

  /** The smallest ε at which everything recorded so far is (ε, δ)-DP, and the order giving it. */
  epsilon (delta: number): EpsilonResult {
    return epsilonFromRdp(this.orders, this.totals(), delta)
  }

  /** Total RDP at each of `orders` (a copy). */
  rdp (): number[] {
    return [...this.totals()]
  }

  private totals (): number[] {
    if (this.total === undefined) {
      const total = this.orders.map(() => 0)
      for (const e of this.entries) {
        const rdp = computeRdp(e.sampleRate, e.noiseMultiplier, e.steps, this.orders)
        for (let k = 0; k < rdp.length; k++) total[k] += rdp[k]
      }
      this.total = total
    }
    return this.total
  }

  /** What was recorded, merged: enough to rebuild this accountant with `new RdpAccountant(orders, history)`. */
  history (): AccountEntry[] {
    return this.entries.map(e => ({ ...e }))
  }
}

/** ε after `steps` identical releases: the one-line form for settings checks and tables. */
export function epsilonFor (options: { noiseMultiplier: number, sampleRate?: number, steps: number, delta: number, orders?: readonly number[] }): EpsilonResult {
  return new RdpAccountant(options.orders).step(options.noiseMultiplier, options.sampleRate ?? 1, options.steps).epsilon(options.delta)
}
