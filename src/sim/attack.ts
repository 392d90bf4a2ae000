// The simulator's attacker model: which members are Byzantine (a seeded draw) and what each does.
// Every attack acts at the simulator's boundary — on a node's training result, on what it
// publishes, on what it hears — so the round engine only ever runs its honest code.
import { Rng, type ParamLayout } from '../tensor/index.js'
// the codec refuses to write NaN: a NaN update can only be made by writing the envelope itself
import { UpdateEnvelope } from '../compress/wire/update.js'
import type { Announce, TrainResult } from '../round/index.js'
import type { SimConfig } from './config.js'
import { SimError, SimErrorCode, clip } from './errors.js'

/**
 * - signflip: publishes −10× its honest update
 * - nan: publishes an update blob of NaNs under a valid announce
 * - noise: publishes Gaussian noise, per coordinate 10× its honest update's RMS, instead of its update
 * - replay: re-announces its first update in every later round
 * - steal: announces every honest update it hears as its own, claiming huge samples and capacity
 * - inflate: announces its honest update claiming huge samples and capacity
 * - censor: never hears honest members' announces, so what it commits as a candidate holds attackers' updates only
 */
export const ATTACK_KINDS = ['signflip', 'nan', 'noise', 'replay', 'steal', 'inflate', 'censor'] as const
export type AttackKind = typeof ATTACK_KINDS[number]

/** What inflated and stolen announces claim: the largest exact sample count, and a capacity that wins elections. */
export const CLAIMED_SAMPLES = Number.MAX_SAFE_INTEGER
export const CLAIMED_CAPACITY = 1e9
/** signflip publishes this multiple of its honest update */
export const SIGNFLIP_SCALE = -10
/** noise's std per coordinate, as a multiple of the honest update's RMS */
export const NOISE_SCALE = 10

/** `none`, `all`, or kinds joined by '+' (or ',', as a config file's list arrives) → the kinds, in order. */
export function parseAttack (text: string): AttackKind[] {
  const t = text.trim()
  if (t === '' || t === 'none') return []
  if (t === 'all') return [...ATTACK_KINDS]
  const kinds: AttackKind[] = []
  for (const part of t.split(/[+,]/).map(s => s.trim())) {
    if (!(ATTACK_KINDS as readonly string[]).includes(part)) {
      throw new SimError(SimErrorCode.ATTACK, `bad attack "${clip(t)}": unknown kind "${clip(part)}" (none | all | ${ATTACK_KINDS.join(' | ')}, joined by +)`, { spec: clip(t), kind: clip(part) })
    }
    if (kinds.includes(part as AttackKind)) throw new SimError(SimErrorCode.ATTACK, `bad attack "${clip(t)}": "${part}" is listed twice`, { spec: clip(t), kind: part })
    kinds.push(part as AttackKind)
  }
  return kinds
}

export function formatAttack (kinds: readonly AttackKind[]): string {
  return kinds.length === 0 ? 'none' : kinds.join('+')
}

/** How many of `nodes` attack: the fraction rounded to whole nodes. */
export function attackerCount (nodes: number, fraction: number): number {
  return Math.round(fraction * nodes)
}

/**
 * The attackers and their kinds: a seeded draw of attackerCount members, so a run reproduces
 * and anyone can recompute who attacked; kinds go round-robin over the attackers in node order.
 */
export function chooseAttackers (nodes: number, fraction: number, kinds: readonly AttackKind[], seed: number): Map<number, AttackKind> {
  const out = new Map<number, AttackKind>()
  if (kinds.length === 0) return out
  const order = new Rng(seed).fork('attackers').shuffle(Array.from({ length: nodes }, (_, i) => i)) as number[]
  const chosen = order.slice(0, attackerCount(nodes, fraction)).sort((a, b) => a - b)
  chosen.forEach((node, k) => out.set(node, kinds[k % kinds.length]))
  return out
}

/** An announce to publish and, when it names a blob the node did not make itself, that blob. */
export interface AnnounceOut { msg: Announce, blob?: { id: string, bytes: Uint8Array } }

/** Reads a blob from the store of the node it is asked of; undefined when that node does not hold it. */
export type BlobOf = (id: string) => Uint8Array | undefined

export interface AdversaryOptions {
  attackers: ReadonlyMap<number, AttackKind>
  layout: ParamLayout
  seed: number
  peerName: (node: number) => string
  /** the simulator's content ids */
  digest: (bytes: Uint8Array) => string
}

/** What the attackers do; the simulator asks it at each boundary and does what it answers. */
export class Adversary {
  private readonly byPeer = new Map<string, AttackKind>()
  /** replay: each replayer's first update, announced again in every later round */
  private readonly first = new Map<number, { round: number, id: string, bytes: Uint8Array }>()

  constructor (private readonly o: AdversaryOptions) {
    for (const [node, kind] of o.attackers) this.byPeer.set(o.peerName(node), kind)
  }

  get attackers (): ReadonlyMap<number, AttackKind> { return this.o.attackers }

  kindOf (node: number): AttackKind | undefined {
    return this.o.attackers.get(node)
  }

  isAttacker (peerId: string): boolean {
    return this.byPeer.has(peerId)
  }

  /** True when some attacker acts on announces it overhears (the simulator then taps gossip for it). */
  get overhears (): boolean {
    for (const k of this.o.attackers.values()) if (k === 'steal') return true
    return false
  }

  /** A node's training result, as its engine will see it: `base` is the model it trained from. */
  trained (node: number, round: number, base: Float32Array, r: TrainResult): TrainResult {
    const kind = this.kindOf(node)
    if (kind === 'signflip') {
      // params' = base − s·(base − trained): the engine then computes the delta s·Δ
      const params = new Float32Array(base.length)
      for (let i = 0; i < params.length; i++) params[i] = base[i] - SIGNFLIP_SCALE * (base[i] - r.params[i])
      return { params, samples: r.samples }
    }
    if (kind === 'noise') {
      let sq = 0
      for (let i = 0; i < base.length; i++) sq += (base[i] - r.params[i]) ** 2
      const std = NOISE_SCALE * Math.sqrt(sq / Math.max(1, base.length))
      const rng = new Rng(`${this.o.seed}/attack/${node}/${round}`)
      const params = new Float32Array(base.length)
      for (let i = 0; i < params.length; i++) params[i] = base[i] - std * rng.normal()
      return { params, samples: r.samples }
    }
    return r
  }

  /**
   * What a node publishes in place of its engine's announce `msg`; null: nothing. `blobOf` reads the
   * node's own store (its engine stored the announced update there just before).
   */
  announce (node: number, msg: Announce, blobOf: BlobOf): AnnounceOut | null {
    switch (this.kindOf(node)) {
      case 'nan': {
        const honest = blobOf(msg.updateId)
        if (honest == null) return { msg }
        const bytes = nanBlob(honest, this.o.layout)
        const id = this.o.digest(bytes)
        return { msg: { ...msg, updateId: id, size: bytes.length }, blob: { id, bytes } }
      }
      case 'replay': {
        const old = this.first.get(node)
        if (old == null || old.round >= msg.round) {
          const bytes = blobOf(msg.updateId)
          if (bytes != null && old == null) this.first.set(node, { round: msg.round, id: msg.updateId, bytes })
          return { msg }
        }
        // the old blob is offered again, so peers can fetch what the announce names
        return { msg: { ...msg, updateId: old.id, size: old.bytes.length }, blob: { id: old.id, bytes: old.bytes } }
      }
      case 'inflate':
        return { msg: { ...msg, samples: CLAIMED_SAMPLES, capacity: CLAIMED_CAPACITY } }
      case 'steal':
        // its own announce would take its one slot per round at every receiver (the first wins),
        // leaving no room for a stolen one
        return null
      default:
        return { msg }
    }
  }

  /**
   * Announces `node` publishes on overhearing `msg` in gossip: a stealer claims every honest update
   * as its own (having fetched it through `blobOf`, the author's store, so it can serve it).
   */
  overhear (node: number, msg: Announce, blobOf: BlobOf): AnnounceOut[] {
    if (this.kindOf(node) !== 'steal' || this.isAttacker(msg.peerId)) return []
    const bytes = blobOf(msg.updateId)
    if (bytes == null) return []
    const stolen: Announce = { ...msg, peerId: this.o.peerName(node), samples: CLAIMED_SAMPLES, capacity: CLAIMED_CAPACITY }
    delete stolen.attempt
    return [{ msg: stolen, blob: { id: msg.updateId, bytes } }]
  }

  /**
   * Whether `msg` reaches node's engine. A censor never hears an honest announce; only a round's
   * candidates act on announces, so what it drops only matters when it is one.
   */
  hears (node: number, msg: Announce): boolean {
    return this.kindOf(node) !== 'censor' || this.isAttacker(msg.peerId)
  }
}

/** The attackers of a run (none: null), ready for the simulator. */
export function createAdversary (cfg: SimConfig, layout: ParamLayout, peerName: (node: number) => string, digest: (bytes: Uint8Array) => string): Adversary | null {
  const attackers = chooseAttackers(cfg.nodes, cfg.attackFraction, cfg.attack, cfg.seed)
  return attackers.size === 0 ? null : new Adversary({ attackers, layout, seed: cfg.seed, peerName, digest })
}

/**
 * A dense fp32 update of NaNs, in the envelope of `honest` (same layout hash and the same round
 * and author fields, whatever the engine writes there), so only its values are wrong.
 */
export function nanBlob (honest: Uint8Array, layout: ParamLayout): Uint8Array {
  const env = UpdateEnvelope.decode(honest)
  const payload = new Uint8Array(4 * layout.total)
  const view = new DataView(payload.buffer)
  for (let i = 0; i < layout.total; i++) view.setFloat32(4 * i, NaN, true) // the wire is little-endian
  return UpdateEnvelope.encode({ ...env, codec: 'fp32', total: BigInt(layout.total), payload })
}
