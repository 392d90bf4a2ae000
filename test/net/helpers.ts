// Shared fixtures for the net tests: hosts on 127.0.0.1, connected pairs, sample messages, polling.
import { createTapestryHost } from '../../src/net/index.js'
import type { TapestryHost, TapestryHostOptions } from '../../src/net/index.js'
import type { Announce, Commit, Presence } from '../../src/round/messages.js'

export const RUN = 'test-run'

/** A host on an ephemeral loopback port; fast gossip heartbeats so meshes form within a test. */
export async function makeHost (options: Partial<TapestryHostOptions> = {}): Promise<TapestryHost> {
  return await createTapestryHost({ runId: RUN, gossipHeartbeatMs: 100, ...options })
}

/** Connect `a` to `b` (a dials b). */
export async function connect (a: TapestryHost, b: TapestryHost): Promise<void> {
  await a.dial(b.multiaddrs()[0])
}

/** Poll `cond` (sync or async) every 20 ms until true or `timeoutMs` passes (then throw). */
export async function waitFor (cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

export async function stopAll (hosts: Array<TapestryHost | undefined>): Promise<void> {
  await Promise.all(hosts.map(async h => { await h?.stop() }))
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function bytesOf (n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
    if (i + 1 < n) out[i + 1] = (x >>> 8) & 0xff
    if (i + 2 < n) out[i + 2] = (x >>> 16) & 0xff
    if (i + 3 < n) out[i + 3] = (x >>> 24) & 0xff
  }
  return out
}

// two real CIDv1/raw/sha2-256 strings for ids that must parse as blob CIDs
export const CID_A = 'bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm'
export const CID_B = 'bafkreib6epubmabzlffdhckpmvsodmjuro6xuaei2qwevs3t52xnlhaatu'

export function samplePresence (peerId: string): Presence {
  return { runId: RUN, peerId, round: -1, modelId: CID_A, capacity: 1.5 }
}

export function sampleAnnounce (peerId: string, round = 3): Announce {
  return { runId: RUN, round, peerId, updateId: CID_B, baseModelId: CID_A, samples: 640, codec: 'topk:0.01+q2', size: 123456, capacity: 2 }
}

export function sampleCommit (aggregator: string, round = 3, members: string[] = [aggregator]): Commit {
  return {
    runId: RUN,
    round,
    aggregator,
    rank: 0,
    prevModelId: CID_A,
    included: members.map((peerId, i) => ({ updateId: i % 2 === 0 ? CID_A : CID_B, peerId, samples: 100 + i, capacity: 1 })),
    newModelId: CID_B,
    aggregateId: ''
  }
}
