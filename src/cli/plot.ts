// Line charts for `tapestry sim` reports: a vega-lite spec rendered headless to SVG, rasterised to PNG by resvg.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Resvg } from '@resvg/resvg-js'
import * as vega from 'vega'
import * as vl from 'vega-lite'

export interface Series {
  name: string
  points: Array<{ x: number, y: number }>
  /** dashed line, e.g. for baselines */
  dashed?: boolean
}

export interface PlotSpec {
  title: string
  /** a second title line, e.g. the configuration the figure shows */
  subtitle?: string
  xLabel: string
  yLabel: string
  series: Series[]
  logX?: boolean
  /** @default 640 */
  width?: number
  /** @default 360 */
  height?: number
}

/** A plot that cannot be drawn (bad size); empty data is not an error, it draws empty axes. */
export class PlotError extends Error {
  readonly code = 'ERR_CLI_PLOT'
  constructor (message: string) {
    super(message)
    this.name = 'PlotError'
  }
}

/**
 * Font stack written into the SVG: the first names suit viewers of the SVG on desktops,
 * DejaVu Sans is what minimal Linux images (and CI) usually have, and the generic name is the last resort.
 */
const FONT = 'Helvetica, Arial, "DejaVu Sans", "Liberation Sans", sans-serif'
const DASH = [6, 4]

interface Row { series: string, x: number, y: number }

/** Drops points that vega would draw as gaps or that a log scale cannot place, so one bad value does not blank a line. */
function cleanPoints (s: Series, logX: boolean): Row[] {
  const rows: Row[] = []
  for (const p of s.points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue
    if (logX && p.x <= 0) continue
    rows.push({ series: s.name, x: p.x, y: p.y })
  }
  // lines connect points in data order; sorting makes the plot independent of the caller's order
  rows.sort((a, b) => a.x - b.x)
  return rows
}

/** Legend entries key on the name, so two series of one name would merge into one colour: keep them apart. */
function uniqueNames (series: Series[]): Series[] {
  const taken = new Set<string>()
  return series.map(s => {
    let name = s.name
    for (let n = 2; taken.has(name); n++) name = `${s.name} (${n})`
    taken.add(name)
    return name === s.name ? s : { ...s, name }
  })
}

/**
 * Explicit domain where vega's own would be degenerate: all values equal gives a zero-width scale with one tick
 * printed at full precision ("0.500000"), and no values gives an empty (on log scales, Infinity..NaN) axis.
 */
function fixedDomain (values: number[], log: boolean): [number, number] | undefined {
  if (values.length === 0) return log ? [1, 10] : [0, 1]
  const lo = values[0]
  // a loop, not Math.min(...values): spreading long runs' points would overflow the call stack
  for (const v of values) if (v !== lo) return undefined
  if (log) return [lo / 2, lo * 2]
  const d = lo === 0 ? 1 : Math.abs(lo) * 0.1
  return [lo - d, lo + d]
}

function checkSize (name: string, v: number): number {
  if (!Number.isInteger(v) || v < 100 || v > 10000) throw new PlotError(`plot ${name} must be an integer between 100 and 10000, got ${v}`)
  return v
}

/** The vega-lite spec: one layer of lines (colour + dash per series) and one of points for single-point series. */
function buildSpec (spec: PlotSpec): vl.TopLevelSpec {
  const logX = spec.logX === true
  const series = uniqueNames(spec.series)
  const rows = series.flatMap(s => cleanPoints(s, logX))
  const names = series.map(s => s.name)
  const counts = new Map(names.map(n => [n, 0]))
  for (const r of rows) counts.set(r.series, (counts.get(r.series) ?? 0) + 1)
  // a lone point has no segment to draw, so it gets a point mark; longer lines stay clean
  const solo = new Set(names.filter(n => counts.get(n) === 1))
  const maxAbsX = rows.reduce((m, r) => Math.max(m, Math.abs(r.x)), 0)
  const xDomain = fixedDomain(rows.map(r => r.x), logX)
  const yDomain = fixedDomain(rows.map(r => r.y), false)
  const width = checkSize('width', spec.width ?? 640)
  const height = checkSize('height', spec.height ?? 360)

  // color and strokeDash share field and title, so vega-lite merges them into one legend showing both
  const seriesField = { field: 'series', type: 'nominal' as const, title: null, sort: names }
  const color = { ...seriesField, scale: { domain: names } }
  const strokeDash = {
    ...seriesField,
    scale: { domain: names, range: series.map(s => s.dashed === true ? DASH : [1, 0]) }
  }

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // an empty chart should say why it is empty rather than look like a rendering failure
    title: rows.length === 0
      ? { text: spec.title, subtitle: 'no finite data points to plot' }
      : spec.subtitle != null ? { text: spec.title, subtitle: spec.subtitle, subtitleFontSize: 10 } : spec.title,
    width,
    height,
    // width/height are the whole image, legend and axes included, so callers get predictable file sizes
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    padding: 8,
    data: { values: rows },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: spec.xLabel,
        scale: { ...(logX ? { type: 'log' as const } : { zero: false }), ...(xDomain != null ? { domain: xDomain } : {}) },
        // bytes sent run to millions: SI suffixes (1.5M) keep tick labels short enough not to collide
        // (with a shared prefix, so zero would read "0M": relabel it plain)
        axis: maxAbsX >= 1e4 ? { format: '~s', labelExpr: "datum.value === 0 ? '0' : datum.label" } : { format: '~g' }
      },
      y: { field: 'y', type: 'quantitative', title: spec.yLabel, scale: { zero: false, ...(yDomain != null ? { domain: yDomain } : {}) } }
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { color, strokeDash } },
      {
        transform: [{ filter: { field: 'series', oneOf: [...solo] } }],
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { color }
      }
    ],
    config: {
      font: FONT,
      legend: { orient: 'right', symbolType: 'stroke', symbolStrokeWidth: 2, labelLimit: Math.max(120, Math.round(width * 0.35)) },
      axis: { grid: true, gridOpacity: 0.5 }
    }
  }
}

/** Renders a line chart with a legend: SVG via vega-lite → vega (headless), PNG rasterised from that SVG by resvg. */
export async function renderLinePlot (spec: PlotSpec): Promise<{ svg: string, png: Uint8Array }> {
  // warnings only: the CLI's stdout may carry --json output, and vega's chatter is no use to a sim user
  const logger = vega.logger(vega.Error)
  const compiled = vl.compile(buildSpec(spec), { logger }).spec
  // renderer 'none' skips the canvas/DOM path entirely: toSVG builds markup from the scenegraph alone
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger })
  try {
    const svg = await view.toSVG()
    const png = new Resvg(svg, {
      background: 'white',
      // system fonts: vega writes a font-family stack, resvg picks the first installed one
      font: { loadSystemFonts: true, sansSerifFamily: 'DejaVu Sans', defaultFontFamily: 'DejaVu Sans' },
      logLevel: 'off'
    }).render().asPng()
    return { svg, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) }
  } finally {
    view.finalize()
  }
}

/** Writes `${dir}/${basename}.svg` and `.png`, creating dir; returns the paths. */
export async function writeLinePlot (dir: string, basename: string, spec: PlotSpec): Promise<{ svgPath: string, pngPath: string }> {
  const { svg, png } = await renderLinePlot(spec)
  await mkdir(dir, { recursive: true })
  const svgPath = join(dir, `${basename}.svg`)
  const pngPath = join(dir, `${basename}.png`)
  await Promise.all([writeFile(svgPath, svg, 'utf8'), writeFile(pngPath, png)])
  return { svgPath, pngPath }
}
