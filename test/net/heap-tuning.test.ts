// The V8 flag the host sets must exist in the pinned Node and act when set at run time: a Node
// upgrade that drops or renames it would otherwise silently bring back a full GC per 64 MiB.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'

const tuning = new URL('../../src/net/heap-tuning.js', import.meta.url).href

/** Full (mark-compact) GCs while 1 GiB of short-lived 64 KiB buffers is allocated in a child. */
function majorGcs (tuned: boolean): number {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks'
    import { tuneHeapForTransfers } from ${JSON.stringify(tuning)}
    if (${String(tuned)}) tuneHeapForTransfers()
    let major = 0
    const obs = new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++ })
    obs.observe({ entryTypes: ['gc'] })
    let keep = 0
    for (let i = 0; i < 16384; i++) { const b = Buffer.allocUnsafeSlow(65536); b[0] = i; keep += b[0] }
    setTimeout(() => { obs.disconnect(); console.log(major) }, 50)
  `
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  return Number(out.trim())
}

describe('heap tuning for transfers', () => {
  it('cuts the full GCs that external buffers trigger', () => {
    const stock = majorGcs(false)
    const tuned = majorGcs(true)
    assert.ok(stock >= 4, `expected stock V8 to run several full GCs for 1 GiB of buffers, saw ${stock}`)
    assert.ok(tuned * 2 <= stock, `tuned: ${tuned} full GCs, stock: ${stock}`)
  })
})
