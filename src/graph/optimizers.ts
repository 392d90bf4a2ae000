// Optimizer updates as graph nodes over the flat parameter vector: SGD with momentum, AdamW, norm clipping.
import type { Value } from './builder.js'
import { SpecError } from './errors.js'
import { add, div, max, mul, pow, reduceSumSquare, sqrt, sub } from './ops/index.js'
import type { OptimizerSpec } from './spec.js'

/** Optimizer options with every default filled in and checked. */
export type ResolvedOptimizer =
  | { kind: 'sgd', momentum: number, weightDecay: number, clipNorm: number | undefined }
  | { kind: 'adamw', beta1: number, beta2: number, eps: number, weightDecay: number, clipNorm: number | undefined }

export function resolveOptimizer (spec: OptimizerSpec): ResolvedOptimizer {
  const check = (name: string, v: number, lo: number, hi: number, loOpen = false): number => {
    if (!Number.isFinite(v) || v > hi || (loOpen ? v <= lo : v < lo)) throw new SpecError(`optimizer ${name} = ${v} is out of range`)
    return v
  }
  const clip = spec.clipNorm === undefined ? undefined : check('clipNorm', spec.clipNorm, 0, Infinity, true)
  switch (spec.kind) {
    case 'sgd':
      return {
        kind: 'sgd',
        momentum: check('momentum', spec.momentum ?? 0.9, 0, 1),
        weightDecay: check('weightDecay', spec.weightDecay ?? 0, 0, Infinity),
        clipNorm: clip
      }
    case 'adamw':
      return {
        kind: 'adamw',
        beta1: check('beta1', spec.beta1 ?? 0.9, 0, 1),
        beta2: check('beta2', spec.beta2 ?? 0.999, 0, 1),
        eps: check('eps', spec.eps ?? 1e-8, 0, Infinity, true),
        weightDecay: check('weightDecay', spec.weightDecay ?? 0, 0, Infinity),
        clipNorm: clip
      }
    default:
      throw new SpecError(`unknown optimizer kind "${(spec as { kind: string }).kind}"`)
  }
}

export interface StateSlot {
  readonly name: string
  /** 'params': [P] like the parameters; 'counter': [1] step count */
  readonly like: 'params' | 'counter'
}

/**
 * Optimizer state tensors in graph-input order. All float32, initially zero, and opaque:
 * the graph may keep them in its own scaling (see adamwStep), so carry them, don't read them.
 */
export function optimizerState (spec: OptimizerSpec): StateSlot[] {
  return resolveOptimizer(spec).kind === 'sgd'
    ? [{ name: 'opt_m', like: 'params' }]
    : [{ name: 'opt_m', like: 'params' }, { name: 'opt_v', like: 'params' }, { name: 'opt_t', like: 'counter' }]
}

/** Zero initial state for a model with P parameters, in optimizerState order. */
export function initOptimizerState (spec: OptimizerSpec, p: number): Float32Array[] {
  return optimizerState(spec).map(s => new Float32Array(s.like === 'params' ? p : 1))
}

/** Scales the gradients so their global L2 norm (over all vectors) is at most maxNorm. */
export function clipByGlobalNorm (grads: readonly Value[], maxNorm: number): Value[] {
  let sq = reduceSumSquare(grads[0], undefined, false)
  for (let i = 1; i < grads.length; i++) sq = add(sq, reduceSumSquare(grads[i], undefined, false))
  // maxNorm / max(norm, maxNorm) is 1 below the threshold and needs no Min/Where
  const scale = div(maxNorm, max(sqrt(sq), maxNorm))
  return grads.map(g => mul(g, scale))
}

/**
 * The parameters as one or more vectors (buckets of the flat vector, see bucketLayout),
 * their gradients, and the state: state[slot] holds one vector per bucket for the
 * parameter-shaped slots and a single [1] tensor for the step counter.
 */
export interface OptimizerStepInput {
  readonly params: readonly Value[]
  readonly grads: readonly Value[]
  /** scalar learning rate */
  readonly lr: Value
  /** in optimizerState order */
  readonly state: ReadonlyArray<readonly Value[]>
  /**
   * per parameter vector, where weight decay applies: 1 everywhere, 0 nowhere, or a 0/1 mask of
   * the vector's length (e.g. matrices yes, norms and biases no) @default 1 for every vector
   */
  readonly decayMasks?: ReadonlyArray<Value | 0 | 1>
}

export interface OptimizerStepOutput {
  readonly params: Value[]
  readonly state: Value[][]
}

/**
 * One update. Scalar coefficients are folded first so each full-size tensor passes
 * through as few elementwise nodes as possible: the flat vector is the largest tensor
 * of a small model's step and every extra pass over it costs memory bandwidth.
 */
export function optimizerStep (spec: OptimizerSpec, s: OptimizerStepInput): OptimizerStepOutput {
  const o = resolveOptimizer(spec)
  if (s.grads.length !== s.params.length) throw new SpecError(`${s.grads.length} gradients for ${s.params.length} parameter vectors`)
  const grads = o.clipNorm === undefined ? s.grads : clipByGlobalNorm(s.grads, o.clipNorm)
  return o.kind === 'sgd' ? sgdStep(o, s, grads) : adamwStep(o, s, grads)
}

function sgdStep (o: Extract<ResolvedOptimizer, { kind: 'sgd' }>, s: OptimizerStepInput, grads: readonly Value[]): OptimizerStepOutput {
  const params: Value[] = []
  const ms: Value[] = []
  s.params.forEach((p, i) => {
    const m = s.decayMasks?.[i] ?? 1
    const g = o.weightDecay === 0 || m === 0 ? grads[i] : add(grads[i], mul(m === 1 ? p : mul(p, m), o.weightDecay))
    // PyTorch semantics: m ← μ·m + g, p ← p − lr·m (no dampening)
    const m2 = o.momentum === 0 ? g : add(mul(s.state[0][i], o.momentum), g)
    ms.push(m2)
    params.push(sub(p, mul(m2, s.lr)))
  })
  return { params, state: [ms] }
}

/**
 * AdamW with the moments kept unnormalised: opt_m holds m/(1−β1) and opt_v holds
 * v/(1−β2), so their updates are M ← β1·M + g and V ← β2·V + g² (one multiply fewer
 * each). All the scalar factors (1−β), bias corrections, lr) fold into two [1]-shaped
 * coefficients, which leaves 10 passes over the flat vector (11 with weight decay):
 *   p ← p·(1 − lr·wd) − s·M / (√V + ε̂),  s = lr·√(bc2/(1−β2))·(1−β1)/bc1,  ε̂ = ε·√(bc2/(1−β2))
 * which is exactly PyTorch's  p ← p·(1 − lr·wd) − lr·(m/bc1) / (√(v/bc2) + ε).
 */
function adamwStep (o: Extract<ResolvedOptimizer, { kind: 'adamw' }>, s: OptimizerStepInput, grads: readonly Value[]): OptimizerStepOutput {
  const [t] = s.state[2]
  const t2 = add(t, 1)
  const bc1 = sub(1, pow(o.beta1, t2))
  const r = sqrt(div(sub(1, pow(o.beta2, t2)), 1 - o.beta2)) // √(bc2/(1−β2))
  const stepSize = div(mul(s.lr, mul(r, 1 - o.beta1)), bc1)
  const epsHat = mul(r, o.eps)
  const decay = o.weightDecay === 0 ? undefined : sub(1, mul(s.lr, o.weightDecay))
  const lrWd = o.weightDecay === 0 ? undefined : mul(s.lr, o.weightDecay)
  // p·(1 − lr·wd·mask): the scalar factor where the whole vector decays, a mask where only part does
  const decayed = (p: Value, i: number): Value => {
    const m = s.decayMasks?.[i] ?? 1
    if (decay === undefined || lrWd === undefined || m === 0) return p
    return m === 1 ? mul(p, decay) : sub(p, mul(mul(p, m), lrWd))
  }
  const params: Value[] = []
  const ms: Value[] = []
  const vs: Value[] = []
  s.params.forEach((p, i) => {
    const g = grads[i]
    const m2 = add(mul(s.state[0][i], o.beta1), g)
    const v2 = add(mul(s.state[1][i], o.beta2), mul(g, g))
    const update = mul(div(m2, add(sqrt(v2), epsHat)), stepSize)
    params.push(sub(decayed(p, i), update))
    ms.push(m2)
    vs.push(v2)
  })
  return { params, state: [ms, vs, [t2]] }
}
