// Typed errors of the round protocol: bad settings and refused messages.

export enum RoundErrorCode {
  BadConfig = 'ERR_ROUND_CONFIG',
  BadEvent = 'ERR_ROUND_EVENT',
  /** a run setting refused by the run-settings schema (RunSettingsError names the field) */
  BadSettings = 'ERR_ROUND_RUN_SETTINGS'
}

export class RoundError extends Error {
  readonly code: RoundErrorCode
  /** BadConfig, BadSettings: the config field refused (e.g. 'mode', 'groupSize'), where one is to blame */
  readonly field?: string
  constructor (code: RoundErrorCode, message: string, field?: string) {
    super(message)
    this.name = 'RoundError'
    this.code = code
    if (field !== undefined) this.field = field
  }
}
