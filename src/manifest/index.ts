// Public face of manifest/: the signed run manifest (its run id), settings agreement, admissions, invitations, membership changes.
export { ManifestError, ManifestErrorCode, SettingsDisagreeError } from './errors.js'
export { canonicalJson, canonicalBytes, runIdOf, JSON_CODEC } from './canonical.js'
export {
  MANIFEST_VERSION, isCanonicalPeerId, parseManifestBody, PeerIdString, RunIdString, SignatureString, IsoTime,
  type Member, type ManifestBody, type SignedManifest, type Admission, type Invitation, type MembershipChange
} from './schema.js'
export { SIGNING_DOMAINS, type SignedKind, signedMessage, signValue, verifyValue, signerOf, createManifest, verifyManifest, type ManifestInput } from './sign.js'
export { checkSettingsAgree, assertSettingsAgree, type SettingDifference } from './agree.js'
export { createInvitation, verifyInvitation, tokenHash, TOKEN_BYTES, type InvitationOptions, type NewInvitation } from './invitation.js'
export { admit, verifyAdmission, redeemInvitation, type AdmitOptions, type RedeemOptions, type VerifyAdmissionOptions } from './admission.js'
export { changeMembership, verifyMembershipChange, orderChanges, membersAt, type ChangeRequest } from './membership.js'
export { Roster, rosterKey, verifyRosterDoc, type RosterDoc } from './roster.js'
