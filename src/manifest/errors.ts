// Typed errors of run manifests, admissions, invitations and membership changes.

export enum ManifestErrorCode {
  /** a manifest, admission, invitation or change that does not match its schema (the field is named) */
  Schema = 'ERR_MANIFEST_SCHEMA',
  /** a value canonical JSON cannot carry (NaN, ±Infinity, undefined in an array, a non-plain object) */
  NotCanonical = 'ERR_MANIFEST_NOT_CANONICAL',
  /** a signature that does not verify against the signer's peer id */
  BadSignature = 'ERR_MANIFEST_SIGNATURE',
  /** the run id carried does not match the hash of the manifest body */
  RunIdMismatch = 'ERR_MANIFEST_RUN_ID',
  /** a key that cannot sign here (not Ed25519) or that is not the peer it claims to be */
  BadKey = 'ERR_MANIFEST_KEY',
  /** an admission, invitation or change signed by a peer the manifest does not let sign it */
  NotAdmin = 'ERR_MANIFEST_NOT_ADMIN',
  /** an admission, invitation or change that belongs to another run */
  WrongRun = 'ERR_MANIFEST_WRONG_RUN',
  /** an admission or invitation past its expiry */
  Expired = 'ERR_MANIFEST_EXPIRED',
  /** an admission used before its first valid round */
  NotYetValid = 'ERR_MANIFEST_NOT_YET_VALID',
  /** an admission for another peer than the one presenting it */
  WrongPeer = 'ERR_MANIFEST_WRONG_PEER',
  /** an invitation token that does not hash to the invitation's token hash */
  BadToken = 'ERR_MANIFEST_BAD_TOKEN',
  /** an invitation token already redeemed */
  TokenSpent = 'ERR_MANIFEST_TOKEN_SPENT',
  /** local run settings that differ from the manifest's (every differing field is named) */
  SettingsDisagree = 'ERR_MANIFEST_SETTINGS'
}

/** Base of every manifest error; `code` is stable, the message is for people. */
export class ManifestError extends Error {
  readonly code: ManifestErrorCode
  /** the field the error is about (dotted path), where there is one */
  readonly field?: string
  constructor (code: ManifestErrorCode, message: string, field?: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ManifestError'
    this.code = code
    if (field !== undefined) this.field = field
  }
}

/** Settings that differ from the manifest's; `fields` lists each one (dotted names). */
export class SettingsDisagreeError extends ManifestError {
  readonly fields: readonly string[]
  constructor (fields: readonly string[], message: string) {
    super(ManifestErrorCode.SettingsDisagree, message, fields[0])
    this.name = 'SettingsDisagreeError'
    this.fields = fields
  }
}
