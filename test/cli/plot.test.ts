// Tests of the sim's line plots: SVG text and PNG bytes from vega-lite + resvg, and awkward data that must not break them.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderLinePlot, writeLinePlot, PlotError, type PlotSpec } from '../../src/cli/plot.js'

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

function curve (n: number, scale: number, rate: number, floor: number): Array<{ x: number, y: number }> {
  return Array.from({ length: n }, (_, i) => ({ x: (i + 1) * scale, y: 2.3 * Math.exp(-i / rate) + floor }))
}

function threeSeries (): PlotSpec {
  return {
    title: 'Loss vs bytes sent',
    xLabel: 'bytes sent',
    yLabel: 'loss',
    series: [
      { name: 'topk-1pct', points: curve(30, 250_000, 8, 0.1) },
      { name: 'qsgd-8bit', points: curve(30, 250_000, 5, 0.15) },
      { name: 'fedavg-baseline', points: curve(30, 250_000, 4, 0.05), dashed: true }
    ]
  }
}

function assertPng (png: Uint8Array, minBytes = 2000): void {
  assert.deepEqual([...png.subarray(0, 8)], PNG_SIGNATURE)
  assert.ok(png.byteLength > minBytes, `PNG only ${png.byteLength} bytes`)
}

/** PNG IHDR width and height: big-endian u32 at bytes 16 and 20. */
function pngSize (png: Uint8Array): { width: number, height: number } {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength)
  return { width: v.getUint32(16), height: v.getUint32(20) }
}

describe('renderLinePlot', () => {
  it('draws three series with a legend, as SVG text and PNG', async () => {
    const { svg, png } = await renderLinePlot(threeSeries())
    assert.ok(svg.includes('<svg'))
    for (const name of ['topk-1pct', 'qsgd-8bit', 'fedavg-baseline', 'Loss vs bytes sent', 'bytes sent']) {
      assert.ok(svg.includes(name), `SVG lacks "${name}"`)
    }
    // the baseline's dash pattern reaches both its line and its legend symbol
    assert.ok(svg.includes('stroke-dasharray="6,4"'))
    assertPng(png, 10_000)
    assert.deepEqual(pngSize(png), { width: 640, height: 360 })
  })

  it('honours width and height as the whole image size', async () => {
    const { svg, png } = await renderLinePlot({ ...threeSeries(), width: 900, height: 500 })
    assert.match(svg, /<svg[^>]*width="900"[^>]*height="500"/)
    assert.deepEqual(pngSize(png), { width: 900, height: 500 })
  })

  it('renders a log-x plot too', async () => {
    const { svg, png } = await renderLinePlot({ ...threeSeries(), logX: true })
    assert.match(svg, /<svg/)
    assert.ok(pngSize(png).width > 0)
  })

  it('skips NaN and infinite points rather than dropping the line', async () => {
    const spec = threeSeries()
    spec.series[0].points.push({ x: Number.NaN, y: 1 }, { x: 3, y: Number.POSITIVE_INFINITY }, { x: Number.NEGATIVE_INFINITY, y: 0 })
    const { svg, png } = await renderLinePlot(spec)
    assert.ok(!svg.includes('NaN'))
    assert.ok(!svg.includes('Infinity'))
    assert.ok(svg.includes('topk-1pct'))
    assertPng(png, 10_000)
  })

  it('skips zero and negative x on a log axis', async () => {
    const spec = threeSeries()
    spec.logX = true
    spec.series[1].points.unshift({ x: 0, y: 3 }, { x: -5, y: 3 })
    const { svg, png } = await renderLinePlot(spec)
    assert.ok(!svg.includes('NaN'))
    assert.ok(!svg.includes('Infinity'))
    assertPng(png, 10_000)
  })

  it('still draws a chart with no series, saying it has no data', async () => {
    const { svg, png } = await renderLinePlot({ title: 'Accuracy vs round', xLabel: 'round', yLabel: 'accuracy', series: [] })
    assert.ok(svg.includes('<svg'))
    assert.ok(svg.includes('no finite data points'))
    assertPng(png, 1000)
  })

  it('still draws when every point is unusable, keeping the legend', async () => {
    const { svg, png } = await renderLinePlot({
      title: 't', xLabel: 'x', yLabel: 'y', logX: true,
      series: [{ name: 'all-bad', points: [{ x: 0, y: 1 }, { x: -1, y: 2 }, { x: Number.NaN, y: 3 }] }]
    })
    assert.ok(svg.includes('all-bad'))
    assert.ok(svg.includes('no finite data points'))
    assert.ok(!svg.includes('NaN'))
    assertPng(png, 1000)
  })

  it('marks a single-point series with a point, and gives a flat series a readable axis', async () => {
    const { svg, png } = await renderLinePlot({
      title: 't', xLabel: 'round', yLabel: 'loss',
      series: [{ name: 'lonely', points: [{ x: 4, y: 0.5 }] }]
    })
    // vega-lite point marks become symbol paths (circles) in the SVG
    assert.ok(svg.includes('role-mark') && svg.includes('mark-symbol'), 'no point mark')
    assert.ok(!svg.includes('0.500000'), 'degenerate axis printed at full precision')
    assertPng(png, 1000)
  })

  it('escapes markup in names and keeps duplicate names apart', async () => {
    const { svg, png } = await renderLinePlot({
      title: 'a < b & c', xLabel: 'x', yLabel: 'y',
      series: [
        { name: 'lr<0.1 & "q"', points: curve(5, 1, 2, 0) },
        { name: 'dup', points: curve(5, 1, 3, 0) },
        { name: 'dup', points: curve(5, 1, 4, 0) }
      ]
    })
    assert.ok(svg.includes('lr&lt;0.1 &amp;'))
    assert.ok(svg.includes('dup (2)'))
    // resvg parses the SVG as XML, so a PNG at all means the escaping held
    assertPng(png, 2000)
  })

  it('rejects nonsensical sizes with a typed error', async () => {
    const isPlotError = (e: unknown): boolean => e instanceof PlotError && e.code === 'ERR_CLI_PLOT'
    await assert.rejects(renderLinePlot({ ...threeSeries(), width: 0 }), isPlotError)
    await assert.rejects(renderLinePlot({ ...threeSeries(), height: Number.NaN }), isPlotError)
  })
})

describe('writeLinePlot', () => {
  it('writes .svg and .png, creating the folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tapestry-plot-'))
    try {
      const dir = join(root, 'nested', 'plots')
      const { svgPath, pngPath } = await writeLinePlot(dir, 'loss-vs-bytes', threeSeries())
      assert.equal(svgPath, join(dir, 'loss-vs-bytes.svg'))
      assert.equal(pngPath, join(dir, 'loss-vs-bytes.png'))
      const svg = await readFile(svgPath, 'utf8')
      assert.ok(svg.startsWith('<svg'))
      assert.ok(svg.includes('fedavg-baseline'))
      assertPng(new Uint8Array(await readFile(pngPath)), 10_000)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
