// Tests of canonical JSON: sorted keys, no whitespace, JS number form, refusal of what JSON cannot carry.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { canonicalJson, runIdOf, ManifestError, ManifestErrorCode } from '../../src/manifest/index.js'

const code = (c: ManifestErrorCode) => (err: unknown) => err instanceof ManifestError && err.code === c

test('keys are sorted at every depth, no whitespace, undefined keys left out', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ z: true, y: null }], c: undefined, é: 'x', B: 's' }), '{"B":"s","a":[{"y":null,"z":true}],"b":1,"é":"x"}')
})

test('numbers and strings are written as JavaScript writes them', () => {
  assert.equal(canonicalJson([1e-3, 1e-7, 1e21, 0.1 + 0.2, -0, 100, 2 ** 53]), '[0.001,1e-7,1e+21,0.30000000000000004,0,100,9007199254740992]')
  assert.equal(canonicalJson('a"\\\n\u0001\u2028😀'), '"a\\"\\\\\\n\\u0001\u2028😀"')
})

test('canonical JSON does not depend on key insertion order and parses back to the value', () => {
  fc.assert(fc.property(fc.jsonValue(), v => {
    const text = canonicalJson(v)
    assert.deepEqual(canonicalJson(JSON.parse(text)), text)
    const reversed = JSON.parse(text, (_k, x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).reverse())
      : x)
    assert.equal(canonicalJson(reversed), text)
  }), { numRuns: 200 })
})

test('values JSON cannot carry are refused, naming where they are', () => {
  for (const bad of [{ a: Number.NaN }, { a: [Infinity] }, { a: -Infinity }, [undefined], { d: new Date(0) }, { n: 1n }, { f: () => 1 }]) {
    assert.throws(() => canonicalJson(bad), code(ManifestErrorCode.NotCanonical))
  }
  assert.throws(() => canonicalJson({ x: { y: [1, Number.NaN] } }), (err: ManifestError) => err.field === 'x.y[1]')
})

test('the run id is a base32 CIDv1 (json, sha2-256) of the canonical bytes', () => {
  const id = runIdOf({ b: 2, a: 1 })
  assert.equal(id, runIdOf({ a: 1, b: 2 }))
  assert.match(id, /^bagaaiera[a-z2-7]{52}$/)
  assert.notEqual(id, runIdOf({ a: 1, b: 3 }))
})
