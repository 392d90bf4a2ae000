// Typed errors of aggregator election and the hand-over schedule.

export enum ElectionErrorCode {
  /** no members to elect from */
  NoMembers = 'ERR_ELECTION_NO_MEMBERS',
  /** the same peer id listed twice: counting it twice would skew the draw */
  DuplicatePeer = 'ERR_ELECTION_DUPLICATE_PEER',
  /** a declared capacity that is not a finite number > 0 */
  BadCapacity = 'ERR_ELECTION_BAD_CAPACITY',
  /** more backups asked for than there are other members */
  TooManyBackups = 'ERR_ELECTION_TOO_MANY_BACKUPS',
  /** round, backup count, peer id or run id out of range or of the wrong type */
  BadInput = 'ERR_ELECTION_BAD_INPUT',
  /** deadline or backup step not a finite positive duration */
  BadSchedule = 'ERR_ELECTION_BAD_SCHEDULE'
}

/** Base of every election error; `code` is stable, the message is for people. */
export class ElectionError extends Error {
  readonly code: ElectionErrorCode
  /** the peer the error is about, where there is one */
  readonly peerId?: string
  constructor (code: ElectionErrorCode, message: string, peerId?: string) {
    super(message)
    this.name = 'ElectionError'
    this.code = code
    if (peerId !== undefined) this.peerId = peerId
  }
}
