// Public face of privacy/: node-side differential privacy (clip + Gaussian noise on a node's
// own update) and an RDP accountant for its ε. Pure: no network, file or clock access.
export { PrivacyError, PrivacyErrorCode } from './errors.js'
export { DEFAULT_ORDERS, rdpSampledGaussian, computeRdp, logA, logAInt, logAFrac } from './rdp.js'
export { epsilonFromRdp, epsilonFromRdpClassic, type EpsilonResult } from './conversion.js'
export { RdpAccountant, epsilonFor, type AccountEntry } from './accountant.js'
export { clipAndNoise, validateMechanism, type GaussianMechanismOptions, type NoisedUpdate } from './mechanism.js'
export { createPrivacySettings, DEFAULT_DELTA, type PrivacySettings } from './settings.js'
