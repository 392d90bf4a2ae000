// Learning-rate schedules: constant, or linear warmup then cosine decay to a floor (the GPT recipe).
import { TrainError, TrainErrorCode } from './errors.js'

export type LrSchedule =
  | { kind: 'constant', lr: number }
  /** linear from 0 to `lr` over the first `warmup` fraction of the steps, then cosine down to `lr · floor` at the last step */
  | { kind: 'cosine', lr: number, warmup: number, floor: number }

export function checkSchedule (s: LrSchedule): LrSchedule {
  const bad = (m: string): never => { throw new TrainError(TrainErrorCode.BadInput, `learning-rate schedule: ${m}`) }
  if (!Number.isFinite(s.lr) || s.lr <= 0) bad(`lr must be > 0, got ${s.lr}`)
  if (s.kind === 'cosine') {
    if (!(s.warmup >= 0 && s.warmup < 1)) bad(`warmup must be in [0, 1), got ${s.warmup}`)
    if (!(s.floor >= 0 && s.floor <= 1)) bad(`floor must be in [0, 1], got ${s.floor}`)
  }
  return s
}

/** The learning rate of step `step` (0-based) of `total`. */
export function lrAt (s: LrSchedule, step: number, total: number): number {
  if (s.kind === 'constant') return s.lr
  const warm = Math.round(s.warmup * total)
  if (step < warm) return s.lr * (step + 1) / warm
  const span = Math.max(1, total - 1 - warm)
  const progress = Math.min(1, Math.max(0, (step - warm) / span))
  return s.lr * (s.floor + (1 - s.floor) * 0.5 * (1 + Math.cos(Math.PI * progress)))
}
