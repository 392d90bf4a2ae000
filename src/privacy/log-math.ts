// Log-space arithmetic for the RDP accountant: the terms of A_alpha span hundreds of orders of
// magnitude, so sums are taken as log-sum-exp and erfc is evaluated as log erfc.

/** log(e^x + e^y) without overflow; -Infinity stands for 0. */
export function logAdd (x: number, y: number): number {
  const a = Math.min(x, y)
  const b = Math.max(x, y)
  if (a === -Infinity) return b
  return Math.log1p(Math.exp(a - b)) + b
}

/** log(e^x − e^y) for x ≥ y (NaN otherwise: the caller orders its operands). */
export function logSub (x: number, y: number): number {
  if (x < y) return NaN
  if (y === -Infinity) return x
  if (x === y) return -Infinity
  const d = x - y
  // for large d, expm1(d) overflows while the answer is x to double precision
  return d > 700 ? x : Math.log(Math.expm1(d)) + y
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI)
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI)

/**
 * log(erfc(x)) to near double precision for every finite x, including x far in the tail
 * where erfc itself underflows (x > 26): that tail is where the fractional-order terms live.
 */
export function logErfc (x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x === Infinity) return -Infinity
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)))
  if (x < 2) return Math.log1p(-erfSeries(x))
  return -x * x - LOG_SQRT_PI - Math.log(erfcContinuedFraction(x))
}

/**
 * erf(x) = 2/√π · e^{−x²} · Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1)): every term is positive, so
 * there is no cancellation for the |x| < 2 where it is used.
 */
function erfSeries (x: number): number {
  const x2 = x * x
  let term = x
  let sum = x
  for (let n = 1; n < 500; n++) {
    term *= 2 * x2 / (2 * n + 1)
    sum += term
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum
}

/**
 * g(x) with erfc(x) = e^{−x²} / (√π · g(x)), g = x + (1/2)/(x + 1/(x + (3/2)/(x + …))),
 * evaluated by the modified Lentz method; converges fast for x ≥ 2.
 */
function erfcContinuedFraction (x: number): number {
  const tiny = 1e-300
  let f = x
  let c = f
  let d = 0
  for (let n = 1; n < 10000; n++) {
    const a = n / 2
    d = x + a * d
    if (d === 0) d = tiny
    c = x + a / c
    if (c === 0) c = tiny
    d = 1 / d
    const delta = c * d
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return f
}
