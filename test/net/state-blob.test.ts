// The state blob a node syncs from (protocols/sync.md §4): the worked example byte for byte, and
// every malformed state refused at decoding rather than deep in the round engine after adoption.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { blobCid, decodeState, encodeState } from '../../src/net/index.js'
import { encodeCheckpoint } from '../../src/train/index.js'
import { createLayout, layoutToString } from '../../src/tensor/index.js'
import type { ChainState } from '../../src/round/index.js'

const layout = createLayout([{ name: 'w', shape: [2] }, { name: 'b', shape: [1] }])
const params = new Float32Array([1, -2, 0.5])
const MODEL = 'bafkreibm4s63nm2kkcwhbexlt7xjim32e5ey5hvzxlsedexrloeiggzeei'
const state: ChainState = {
  round: 3,
  modelId: MODEL,
  params,
  outer: { step: 3, velocity: new Float32Array([0.25, 0, -1]) },
  electorate: [{ peerId: 'peer-a', capacity: 1 }, { peerId: 'peer-b', capacity: 2.5 }]
}
const HEADER = '{"layout":"w:2,b:1","meta":{"kind":"tapestry-state","round":3,"modelId":"' + MODEL + '","outerStep":3,' +
  '"electorate":[{"peerId":"peer-a","capacity":1},{"peerId":"peer-b","capacity":2.5}]},' +
  '"vectors":[{"name":"params","length":3},{"name":"velocity","length":3}]}'

test('sync.md §4.3: the example state blob, byte for byte', () => {
  assert.equal(blobCid(new Uint8Array(params.buffer)).toString(), MODEL, 'the model id is the CID of the float32 LE bytes')
  const bytes = encodeState(state, layout)
  const hex = Buffer.from(bytes).toString('hex')
  assert.equal(bytes.length, 372)
  assert.equal(hex.slice(0, 24), '5450434b' + '01000000' + '30010000', 'magic "TPCK", version 1, header length 304 (u32 LE)')
  assert.equal(Buffer.from(bytes.subarray(12, 316)).toString(), HEADER)
  assert.equal(hex.slice(632, 680), '0000803f000000c00000003f' + '0000803e00000000000080bf', 'params then velocity, float32 LE, no padding at 316')
  assert.equal(hex.slice(680), '60373a3acd1a03511c5605e1557a34b2251ae63aaffdacbc1d37d97ed9e9d08e', 'SHA-256 of everything before it')
  assert.equal(blobCid(bytes).toString(), 'bafkreictlpghfrrq3ssf2wkpqywmlmm36duza3ilcyrpbetmrtsarqqyla')
  assert.deepEqual(decodeState(bytes, layout), state)
})

test('a state without momentum has no velocity vector; it decodes with velocity null', () => {
  const s = { ...state, outer: { step: 0, velocity: null } }
  assert.deepEqual(decodeState(encodeState(s, layout), layout), s)
})

test('malformed states are refused at decoding', () => {
  const blob = (meta: Record<string, unknown>, vectors: Record<string, Float32Array> = { params }, lay = layoutToString(layout)): Uint8Array =>
    encodeCheckpoint({ layout: lay, meta: { kind: 'tapestry-state', round: 3, modelId: MODEL, outerStep: 3, electorate: state.electorate, ...meta }, vectors })
  assert.notEqual(decodeState(blob({}), layout), null, 'the baseline decodes')
  const cases: Array<[string, Uint8Array]> = [
    ['no params', blob({}, { velocity: params })],
    ['params of another length', blob({}, { params: new Float32Array(4) })],
    ['velocity of another length', blob({}, { params, velocity: new Float32Array(2) })],
    ['an extra vector', blob({}, { params, residual: params })],
    ['another kind', blob({ kind: 'checkpoint' })],
    ['a fractional round', blob({ round: 2.5 })],
    ['a negative outer step', blob({ outerStep: -1 })],
    ['a model id that is no string', blob({ modelId: 7 })],
    ['an empty electorate', blob({ electorate: [] })],
    ['a member listed twice', blob({ electorate: [{ peerId: 'peer-a', capacity: 1 }, { peerId: 'peer-a', capacity: 1 }] })],
    ['a capacity of 0', blob({ electorate: [{ peerId: 'peer-a', capacity: 0 }] })],
    ['a member without an id', blob({ electorate: [{ capacity: 1 }] })],
    ['another layout', blob({}, { params }, 'w:3')]
  ]
  for (const [what, bytes] of cases) assert.equal(decodeState(bytes, layout), null, what)
  const flipped = encodeState(state, layout)
  flipped[320] ^= 1
  assert.equal(decodeState(flipped, layout), null, 'a flipped bit fails the checksum')
})
