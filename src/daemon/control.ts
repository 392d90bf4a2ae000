// The control API: HTTP on 127.0.0.1 only, every request carrying the data directory's token.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { DaemonError, DaemonErrorCode } from './errors.js'

import type { ControlResponses, ControlRoute } from './control-types.js'

export type { ControlRoute } from './control-types.js'

/** Routes that change something: POST, the others GET. */
const POST_ROUTES: ReadonlySet<ControlRoute> = new Set(['stop', 'membership', 'partition'])
/** Largest request body (a membership document is under 16 KiB). */
const MAX_BODY_BYTES = 64 * 1024

export type ControlHandlers = { [R in ControlRoute]: (body: unknown) => Promise<ControlResponses[R]> | ControlResponses[R] }

export class ControlServer {
  private server: Server | undefined

  constructor (private readonly token: string, private readonly handlers: ControlHandlers) {}

  /** Listens on 127.0.0.1 (never another interface); returns the bound port. */
  async listen (port: number): Promise<number> {
    const server = createServer((req, res) => { void this.serve(req, res) })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    const addr = server.address()
    if (addr == null || typeof addr === 'string') throw new DaemonError(DaemonErrorCode.ControlFailed, 'control API did not bind')
    return addr.port
  }

  private authorised (req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? ''
    const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7) : '')
    const want = Buffer.from(this.token)
    return given.length === want.length && timingSafeEqual(given, want)
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (!this.authorised(req)) { send(401, { error: 'missing or wrong control token', code: DaemonErrorCode.Unauthorized }); return }
    const m = /^\/v1\/(status|peers|rounds|model|stop|membership|partition|catalog)$/.exec(req.url ?? '')
    if (m == null) { send(404, { error: `unknown endpoint ${req.url ?? ''}` }); return }
    const route = m[1] as ControlRoute
    if (POST_ROUTES.has(route) !== (req.method === 'POST')) { send(405, { error: `${req.method ?? ''} not allowed on ${route}` }); return }
    let body: unknown
    try {
      body = await readJsonBody(req)
    } catch (err) {
      send(400, { error: (err as Error).message, code: DaemonErrorCode.ControlFailed })
      return
    }
    try {
      send(200, await this.handlers[route](body))
    } catch (err) {
      send(500, { error: (err as Error).message, code: (err as { code?: string }).code })
    }
  }

  async close (): Promise<void> {
    const s = this.server
    if (s == null) return
    s.closeAllConnections()
    await new Promise<void>(resolve => s.close(() => resolve()))
  }
}

async function readJsonBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of req) {
    n += (c as Buffer).byteLength
    if (n > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`)
    chunks.push(c as Buffer)
  }
  if (n === 0) return undefined
  try { return JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { throw new Error('request body is not JSON') }
}

/** Client side, used by the CLI: one request, JSON back, typed errors for every failure. */
export async function controlRequest<R extends ControlRoute> (port: number, token: string, route: R, timeoutMs = 10_000, body?: unknown): Promise<ControlResponses[R]> {
  let res: Response
  try {
    res = await fetch(`http://127.0.0.1:${port}/v1/${route}`, {
      method: POST_ROUTES.has(route) ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs)
    })
  } catch (err) {
    throw new DaemonError(DaemonErrorCode.NotRunning, `daemon not reachable on 127.0.0.1:${port} (${(err as Error).message})`)
  }
  const answer = await res.json().catch(() => ({})) as { error?: string }
  if (res.status === 401) throw new DaemonError(DaemonErrorCode.Unauthorized, answer.error ?? 'unauthorised')
  if (!res.ok) throw new DaemonError(DaemonErrorCode.ControlFailed, answer.error ?? `HTTP ${res.status}`)
  return answer as ControlResponses[R]
}
