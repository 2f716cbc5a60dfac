import { jwt } from '@apiward/auth'
import { answerNow, createKey, defineGuard, type Guard, SecurityEventBus } from '@apiward/core'
import { Forbidden } from '@apiward/errors'
import { authOf, createGuard, errorHandler, guardFetch, notFound, parsedBody, stateOf } from '@apiward/hono'
import { rateLimit } from '@apiward/ratelimit'
import { Hono } from 'hono'

/** The secret, issuer and audience the tests sign their HS256 tokens with. */
export const TOKEN = {
  secret: 'a-test-secret-of-at-least-thirty-two-bytes!',
  issuer: 'https://issuer.test/',
  audience: 'https://api.test',
} as const

/** The main entries of every package: each must load on every runtime. */
export const ENTRIES = [
  '@apiward/errors',
  '@apiward/core',
  '@apiward/core/adapter',
  '@apiward/core/node',
  '@apiward/hono',
  '@apiward/auth',
  '@apiward/authz',
  '@apiward/validate',
  '@apiward/ratelimit',
  '@apiward/audit-log',
  '@apiward/headers',
]

const kTenant = createKey<{ id: string }>('tenant')

const auth = jwt({ ...TOKEN, algorithms: ['HS256'] })
const setsHeader: Guard = (ctx) => ctx.setHeader('X-Guard', 'ran')
const echoesFacts: Guard = (ctx) => {
  ctx.setHeader('X-Ip', ctx.req.ip ?? '(none)')
  ctx.setHeader('X-Peer', ctx.req.peerAddress ?? '(none)')
  ctx.setHeader('X-Protocol', ctx.req.protocol)
  ctx.setHeader('X-Host', ctx.req.host ?? '(none)')
  ctx.setHeader('X-Path', ctx.req.path)
}
const preflight: Guard = (ctx) => {
  if (ctx.req.header('x-preflight') === '1')
    throw answerNow(204, { headers: { 'Access-Control-Max-Age': '600' } })
}
const loadsTenant = defineGuard((ctx) => ctx.set(kTenant, { id: 't-1' }), { guardName: 'loadsTenant' })
const hidesSecret: Guard = (ctx) =>
  ctx.onSend((body) => {
    const { secret: _secret, ...rest } = body as Record<string, unknown>
    return rest
  })
const signed = defineGuard(
  async (ctx) => {
    const text = new TextDecoder().decode(await ctx.readBody(64))
    if (!text.startsWith('signed:')) throw new Forbidden({ code: 'test.unsigned' })
    ctx.setBody({ verified: text.slice('signed:'.length) })
  },
  { guardName: 'signed', readsRawBody: true },
)

/** Options of the scenario app. */
export interface ScenarioOptions {
  /** Receives the errors rendered as a generic 500. */
  onUnexpectedError?: (err: unknown) => void
}

/**
 * The scenarios that hold on every runtime, served under `/fetch/*` by `guardFetch()` handlers and
 * under `/hono/*` by a Hono app: the same fetch handler runs on Node (through @hono/node-server),
 * Bun and Deno.
 */
export function scenarioHandler(
  options: ScenarioOptions = {},
): (request: Request, env?: unknown) => Promise<Response> {
  const onUnexpectedError = options.onUnexpectedError ?? (() => {})
  const events = new SecurityEventBus()
  const common = { onUnexpectedError, events }
  const direct = { ...common }
  const proxied = { ...common, trustProxy: 1 }
  const limited = rateLimit({ points: 2, duration: 60 })

  const fetchRoutes: Record<string, (request: Request, env?: unknown) => Promise<Response>> = {
    '/fetch/allow': guardFetch(
      [auth, setsHeader],
      (r) => Response.json({ who: authOf(r)?.id ?? null }),
      direct,
    ),
    '/fetch/facts': guardFetch(echoesFacts, () => new Response(null, { status: 204 }), direct),
    '/fetch/facts-proxied': guardFetch(echoesFacts, () => new Response(null, { status: 204 }), proxied),
    '/fetch/preflight': guardFetch([setsHeader, preflight], () => Response.json({ handler: true }), direct),
    '/fetch/state': guardFetch(
      loadsTenant,
      (r) => Response.json({ tenant: stateOf(r, kTenant) ?? null }),
      direct,
    ),
    '/fetch/transform': guardFetch(hidesSecret, () => Response.json({ id: 1, secret: 'hunter2' }), direct),
    '/fetch/throws': guardFetch(
      [],
      () => {
        throw new Error('db password is hunter2')
      },
      direct,
    ),
    '/fetch/signed': guardFetch(
      signed,
      async (r) => Response.json({ parsed: parsedBody(r), raw: await r.text() }),
      direct,
    ),
    '/fetch/limited': guardFetch(limited, () => Response.json({ ok: true }), direct),
  }

  const underPath = guardFetch(echoesFacts, () => new Response(null, { status: 204 }), direct)

  const app = new Hono()
  const guard = createGuard(direct)
  app.get('/hono/allow', guard(auth, setsHeader), (c) => c.json({ who: c.get('auth')?.id ?? null }))
  app.get('/hono/facts', guard(echoesFacts), (c) => c.body(null, 204))
  app.get('/hono/state', guard(loadsTenant), (c) => c.json({ tenant: stateOf(c, kTenant) ?? null }))
  app.post('/hono/signed', guard(signed), async (c) => c.json({ parsed: c.req.valid('json' as never) }))
  app.delete('/hono/items/:id', guard(), (c) => c.body(null, 204))
  app.onError(errorHandler(common))
  app.notFound(notFound(app, common))

  return async (request, env) => {
    const path = new URL(request.url).pathname
    const route = fetchRoutes[path] ?? (path.startsWith('/fetch/path/') ? underPath : undefined)
    if (route !== undefined) return route(request, env)
    return app.fetch(request, env)
  }
}
