// Public face of aggregate/: folding updates (mean, robust rules, clipping), the outer optimizer, verification.
export { AggregateError, AggregateErrorCode } from './errors.js'
export { type UpdateId, type UpdateInput, canonicalInputs, idToString, checkFinite } from './input.js'
export { MeanFolder, weightedMean, foldMean, meanAt } from './mean.js'
export { coordinateMedian, foldMedian, medianAt } from './median.js'
export { trimmedMean, foldTrimmedMean, trimmedAt, trimCount, trimMinInputs } from './trimmed.js'
export { multiKrum, krumSelect, krumParameters, krumMinInputs, type MultiKrumOptions, type MultiKrumResult, type KrumSelection } from './krum.js'
export { type ClipRule, l2Norm, clipToNorm, clipBound, clipInputs, validateClipRule } from './clip.js'
export { screenByNorm, SCREEN_MIN_INPUTS } from './screen.js'
export {
  type FoldRule, type FoldRuleKind, type FoldRuleEntry, type PreparedRule, type RuleOf, type FoldSpec, type FoldResult, type PreparedFold,
  fold, prepareFold, validateFoldRule, parseFoldSpec, formatFoldSpec, formatFoldRule,
  foldMinInputs, effectiveFoldRule, effectiveFoldSpec, checkFoldFeasible, foldWidth, FoldInfeasibleError
} from './rule.js'
export { FOLD_RULES } from './rules.js'
export { OuterOptimizer, createOuterOptimizerOptions, DILOCO_OUTER, FEDAVG_OUTER, type OuterOptimizerOptions, type OuterState } from './optimizer.js'
export { verifyFold, verifyOuterStep, sampleCoordinates, type VerifyCheck, type VerifyResult, type VerifyFoldInput, type VerifyOuterInput, type Mismatch } from './verify.js'
