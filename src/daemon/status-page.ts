// The status page a daemon serves on 127.0.0.1 (ops-server.ts): one self-contained HTML file that
// polls /status.json and /rounds.json every 2 s and draws members and peers, the round timeline
// (aggregator, how each commit was verified), the loss curve and bandwidth. No external assets.
export const STATUS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tapestry node</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .2em; } h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; } td, th { padding: .15em .7em .15em 0; text-align: left; vertical-align: top; }
th { color: #666; font-weight: 600; } code { font-size: 12px; }
.grid { display: flex; gap: 2.5em; flex-wrap: wrap; } .muted { color: #888; }
svg { border: 1px solid #ddd; background: #fff; }
</style></head>
<body>
<h1 id="title">Tapestry node</h1>
<div class="muted" id="sub">connecting…</div>
<div class="grid">
  <section><h2>Node</h2><table id="node"></table></section>
  <section><h2>Members and peers</h2><table id="peers"><thead><tr><th>peer</th><th>role</th><th>round</th><th>latency</th><th>connection</th></tr></thead><tbody></tbody></table></section>
</div>
<div class="grid">
  <section><h2>Loss</h2><svg id="loss" width="420" height="180" role="img" aria-label="loss per round"></svg></section>
  <section><h2>Bandwidth (bytes per round)</h2><svg id="bw" width="420" height="180" role="img" aria-label="bytes per round"></svg></section>
</div>
<section><h2>Rounds</h2><table id="rounds"><thead><tr><th>round</th><th>aggregator</th><th>rank</th><th>updates</th><th>verified</th><th>loss</th><th>accuracy / bpb</th><th>bytes</th></tr></thead><tbody></tbody></table></section>
<script>
const short = s => typeof s === 'string' && s.length > 20 ? s.slice(0, 8) + '…' + s.slice(-6) : String(s ?? '-')
const cell = v => { const td = document.createElement('td'); td.textContent = v; return td }
function row (tbody, values) { const tr = document.createElement('tr'); for (const v of values) tr.appendChild(cell(v)); tbody.appendChild(tr) }
function curve (svg, points, label) {
  const W = +svg.getAttribute('width'), H = +svg.getAttribute('height'), P = 30
  svg.innerHTML = ''
  if (points.length === 0) { svg.innerHTML = '<text x="10" y="20" fill="#888">no rounds yet</text>'; return }
  const xs = points.map(p => p[0]), ys = points.map(p => p[1])
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-9)
  const X = x => P + (x - x0) / (x1 - x0) * (W - 2 * P), Y = y => H - P - (y - y0) / (y1 - y0) * (H - 2 * P)
  const d = points.map((p, i) => (i ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1)).join(' ')
  svg.innerHTML = '<path d="' + d + '" fill="none" stroke="#2b6cb0" stroke-width="2"/>' +
    '<text x="' + P + '" y="14" font-size="11" fill="#555">' + label + ': ' + y1.toPrecision(4) + ' max, ' + ys[ys.length - 1].toPrecision(4) + ' last</text>' +
    '<text x="' + P + '" y="' + (H - 8) + '" font-size="11" fill="#555">round ' + x0 + ' … ' + x1 + '</text>'
}
async function refresh () {
  try {
    const [s, r] = await Promise.all([fetch('/status.json').then(x => x.json()), fetch('/rounds.json').then(x => x.json())])
    document.getElementById('title').textContent = 'Tapestry node — run ' + s.runName
    document.getElementById('sub').textContent = 'peer ' + s.peerId + ' · round ' + s.round + ' · ' + s.role + ' · updated ' + new Date().toLocaleTimeString()
    const node = document.getElementById('node'); node.innerHTML = ''
    for (const [k, v] of [['run id', s.runId], ['listen', s.addrs.join(' ')], ['reachable', s.reachability.reachability + (s.reachability.relays.length ? ' through ' + s.reachability.relays.map(short).join(', ') : '')], ['round', s.round], ['aggregator', short(s.aggregator)], ['device', s.device],
      ['model', short(s.model.cid) + ' (round ' + s.model.round + ')'], ['excluded', s.banned.length ? s.banned.map(short).join(', ') : 'nobody'],
      ['bytes', 'gossip ' + s.bytes.gossip + ' · fetched ' + s.bytes.fetched + ' · served ' + s.bytes.served]]) row(node, [k, v])
    const peers = document.querySelector('#peers tbody'); peers.innerHTML = ''
    for (const p of s.peers) row(peers, [short(p.peerId), p.role, p.round, p.latencyMs != null ? p.latencyMs + ' ms' : '-', p.path ?? '-'])
    const rounds = r.rounds
    const body = document.querySelector('#rounds tbody'); body.innerHTML = ''
    for (const x of rounds.slice(-30).reverse()) row(body, [x.round, short(x.aggregator), x.rank, x.included, x.verified, x.loss != null ? x.loss.toFixed(4) : '-',
      x.bitsPerByte != null ? x.bitsPerByte.toFixed(3) + ' bpb' : (x.accuracy != null ? (100 * x.accuracy).toFixed(2) + '%' : '-'), x.bytes])
    curve(document.getElementById('loss'), rounds.filter(x => x.loss != null).map(x => [x.round, x.loss]), 'loss')
    curve(document.getElementById('bw'), rounds.map((x, i) => [x.round, i ? x.bytes - rounds[i - 1].bytes : x.bytes]), 'bytes')
  } catch (e) { document.getElementById('sub').textContent = 'daemon not reachable: ' + e.message }
}
refresh(); setInterval(refresh, 2000)
</script></body></html>
`
