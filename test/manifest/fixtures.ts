// Shared test fixtures: fixed Ed25519 keys from seeds, a small manifest, a fixed clock.
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createManifest, type ManifestInput, type SignedManifest } from '../../src/manifest/index.js'
import type { PrivateKey } from '@libp2p/interface'

export interface TestPeer { key: PrivateKey, id: string }

/** A peer whose Ed25519 key comes from a 32-byte seed filled with `n`: the same peer in every run. */
export async function peer (n: number): Promise<TestPeer> {
  const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(n))
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

export const CREATED_AT = '2025-01-01T00:00:00.000Z'
export const NOW = Date.parse('2025-01-02T00:00:00.000Z')
export const LATER = '2025-01-03T00:00:00.000Z'
export const EARLIER = '2025-01-01T12:00:00.000Z'

export async function manifestOf (creator: TestPeer, extra: Partial<ManifestInput> = {}): Promise<SignedManifest> {
  return await createManifest({ name: 'test run', createdAt: CREATED_AT, ...extra }, creator.key)
}
