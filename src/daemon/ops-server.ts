// The operator's HTTP endpoint on 127.0.0.1: Prometheus metrics (/metrics), the status page (/) and
// the read-only views it draws from (/status.json, /rounds.json). Nothing here changes the node:
// stopping it or admitting members stays on the token-guarded control API.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { RoundHistory, StatusView } from './control-types.js'
import { STATUS_PAGE } from './status-page.js'

export interface OpsSources {
  metrics: () => Promise<{ contentType: string, body: string }>
  status: () => StatusView
  rounds: () => RoundHistory[]
}

export class OpsServer {
  private server: Server | undefined

  constructor (private readonly src: OpsSources) {}

  /** Listen on 127.0.0.1:`port` (0: a free one); resolves to the port. */
  async listen (port: number): Promise<number> {
    const server = createServer((req, res) => { void this.serve(req, res) })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    const addr = server.address()
    return typeof addr === 'object' && addr != null ? addr.port : port
  }

  async close (): Promise<void> {
    const s = this.server
    if (s == null) return
    s.closeAllConnections()
    await new Promise<void>(resolve => s.close(() => resolve()))
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(body)
    }
    if (req.method !== 'GET') { send(405, 'text/plain', 'read-only\n'); return }
    try {
      const path = (req.url ?? '/').split('?')[0]
      switch (path) {
        case '/metrics': { const m = await this.src.metrics(); send(200, m.contentType, m.body); return }
        case '/status.json': send(200, 'application/json', JSON.stringify(this.src.status())); return
        case '/rounds.json': send(200, 'application/json', JSON.stringify({ rounds: this.src.rounds().slice(-500) })); return
        case '/': send(200, 'text/html; charset=utf-8', STATUS_PAGE); return
        default: send(404, 'text/plain', 'not found\n')
      }
    } catch (err) {
      send(500, 'text/plain', `${(err as Error).message}\n`)
    }
  }
}
