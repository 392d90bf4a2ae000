// Typed errors of the privacy layer: every refusal carries a stable `code`, so a daemon can
// refuse a run's settings at configuration time and tests branch on the code, not the text.

/** Stable error codes. Values are part of the public API: never rename, only add. */
export const PrivacyErrorCode = {
  /** a mechanism or accountant setting out of its domain: clip norm, noise multiplier, sample rate, steps */
  BAD_SETTING: 'ERR_PRIVACY_BAD_SETTING',
  /** delta outside (0, 1): with delta = 0 a Gaussian mechanism has no finite epsilon */
  BAD_DELTA: 'ERR_PRIVACY_BAD_DELTA',
  /** an RDP order list that is empty, holds an order ≤ 1 or NaN, or does not match its RDP vector */
  BAD_ORDERS: 'ERR_PRIVACY_BAD_ORDERS',
  /** NaN or ±Infinity inside an update: its norm would be meaningless and clipping would not bound it */
  NON_FINITE: 'ERR_PRIVACY_NON_FINITE'
} as const

export type PrivacyErrorCode = typeof PrivacyErrorCode[keyof typeof PrivacyErrorCode]

/** Base of every error thrown by src/privacy. `detail` holds machine-readable fields. */
export class PrivacyError extends Error {
  readonly code: PrivacyErrorCode
  readonly detail: Readonly<Record<string, string | number>>

  constructor (code: PrivacyErrorCode, message: string, detail: Record<string, string | number> = {}) {
    super(message)
    this.name = 'PrivacyError'
    this.code = code
    this.detail = detail
  }
}

/** Refuses a setting unless `ok`; `field` names it in the message and in `detail.field`. */
export function requireSetting (ok: boolean, field: string, value: number, rule: string): void {
  if (!ok) throw new PrivacyError(PrivacyErrorCode.BAD_SETTING, `${field} must be ${rule}, got ${value}`, { field, value })
}
