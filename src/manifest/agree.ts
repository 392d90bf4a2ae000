// Whether a node's own run settings are the manifest's: every differing field named, so a disagreeing node cannot start.
import { RUN_SETTING_KEYS, type RunSettings } from '../round/settings.js'
import { canonicalJson } from './canonical.js'
import { SettingsDisagreeError } from './errors.js'
import type { SignedManifest } from './schema.js'

export interface SettingDifference {
  /** the setting's name, e.g. "codec" */
  readonly field: string
  /** the manifest's value; undefined when it leaves an optional setting unset */
  readonly manifest: unknown
  /** the node's value; undefined when unset */
  readonly local: unknown
}

/**
 * Every setting whose value differs between the manifest and `local` (parsed settings, defaults
 * filled), in schema order. Values compare by their canonical JSON, so 1 and 1.0 agree and
 * an optional setting left unset differs from one set to what it would derive to: the manifest
 * is the contract, not what it implies.
 */
export function checkSettingsAgree (manifest: SignedManifest, local: RunSettings): SettingDifference[] {
  const ours = manifest.body.settings as Record<string, unknown>
  const theirs = local as Record<string, unknown>
  const keys = [...new Set<string>([...RUN_SETTING_KEYS, ...Object.keys(ours), ...Object.keys(theirs)])]
  const out: SettingDifference[] = []
  for (const field of keys) {
    const a = ours[field]
    const b = theirs[field]
    if (a === undefined && b === undefined) continue
    if (a === undefined || b === undefined || canonicalJson(a) !== canonicalJson(b)) out.push({ field, manifest: a, local: b })
  }
  return out
}

/** Throw ERR_MANIFEST_SETTINGS naming every differing setting (with both values) unless `local` agrees with the manifest. */
export function assertSettingsAgree (manifest: SignedManifest, local: RunSettings): void {
  const diff = checkSettingsAgree(manifest, local)
  if (diff.length === 0) return
  const show = (v: unknown): string => v === undefined ? '(unset)' : canonicalJson(v)
  const lines = diff.map(d => `${d.field}: manifest ${show(d.manifest)}, here ${show(d.local)}`)
  throw new SettingsDisagreeError(diff.map(d => d.field), `settings disagree with run ${manifest.runId}: ${lines.join('; ')}`)
}
