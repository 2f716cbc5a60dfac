// The reference API's security for `GET /notes/:id`, as its example builds it with `apiStack()`:
// secure headers, CORS, the per-IP and per-principal budgets, `jwt()` ES256 on a local JWKS (one
// token sent over and over: a warm verified-token cache), `scopes('notes:read')`, the id validated,
// `owner()` loading the note from a Map, and the hash-chained audit log to a file. Against its
// limit (the same answer and headers, the token in a Map, the owner compared and the audit line
// written and hashed by hand), and next to the same job done with the packages users pick today.
import { createPublicKey } from 'node:crypto'
import { AUDIENCE, ISSUER, SUBJECT } from '../constants.mjs'
import { HELMET_HEADERS, HONO_HEADERS, PRESET_HEADERS, principalOf, requestIds } from '../limit-parts.mjs'
import { benchFile, chainedLines, fileLogger } from '../log-files.mjs'

const ROUTE = '/notes/:id'
const PATH = '/notes/n1'
const REALM = 'notes-api'
const ORIGINS = ['https://app.bench.test']
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-Request-Id', 'Api-Version', 'X-API-Key']
const RATE = { points: 1e9, duration: 60 }

/** The note of the bench token's subject, as stored, and as answered. */
const NOTE = {
  id: 'n1',
  title: 'Shopping',
  body: 'Milk, eggs, bread',
  tags: [],
  ownerId: SUBJECT,
  createdAt: '2025-01-01T00:00:00.000Z',
}

/** The reference API's id parameter (`examples/shared/security.js`). */
const NOTE_ID = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64, pattern: '^[a-z0-9-]{1,64}$' } },
  required: ['id'],
}

const notes = () => new Map([[NOTE.id, NOTE]])

/** The ES256 public key as a KeyObject, the way the peers' docs pass a key. */
const es256Key = (config) => createPublicKey({ key: config.keys.ES256.jwk, format: 'jwk' })

/**
 * The limit's work: the bearer token looked up in a Map filled at startup, the note loaded from a
 * Map and its owner compared with the principal, then the `request.completed` line the audit log
 * writes for this request, by hand: the same fields, the chain fields and a SHA-256 over them,
 * written with pino. A note of someone else is a 401 here too: the bench never sends one.
 */
const limit = {
  readsIp: true,
  readsParams: true,
  // The per-principal budget's remaining quota, a new value on every request.
  changing: ['ratelimit'],
  about:
    'the token looked up in a Map, the note loaded from a Map and its owner compared by hand, then the request.completed line built by hand, its chain hash computed with node:crypto, written to the file destination of pino',
  work: async (config) => {
    const token = config.tokens.ES256
    const known = new Map([[token, principalOf(JSON.parse(Buffer.from(token.split('.')[1], 'base64url')))]])
    const store = notes()
    // The line is built as the audit log builds it (its start line is n = 1), by hand.
    const writeLine = await chainedLines('limit', 2)
    const requestId = requestIds()
    let seq = 0
    return (authorization, params) => {
      const who =
        typeof authorization === 'string' && authorization.startsWith('Bearer ')
          ? known.get(authorization.slice(7))
          : undefined
      if (who === undefined) return undefined
      const note = store.get(params.id)
      if (note === undefined || note.ownerId !== who.id) return undefined
      // The fields of the audit log's request.completed line for this request, in its order.
      const record = {
        time: new Date().toISOString(),
        event: 'request.completed',
        outcome: 'success',
        level: 'info',
        requestId: requestId(),
        principal: who.id,
        credential: 'jwt',
        ip: '127.0.0.1',
        method: 'GET',
        route: ROUTE,
        path: PATH,
        status: 200,
        durationMs: 0.987,
        aborted: false,
        eventSeq: ++seq,
      }
      writeLine(record)
      return who
    }
  },
}

const route = { route: ROUTE, path: PATH, body: NOTE, strictRouting: true, token: 'ES256' }

/** The reference API's checks done by hand after the peers' JWT middleware: scope, id, owner. */
async function byHand() {
  const { Ajv } = await import('ajv')
  const validId = new Ajv().compile(NOTE_ID)
  const store = notes()
  /** The note to answer, or the status refusing the request. */
  return (claims, params) => {
    if (
      !String(claims?.scope ?? '')
        .split(' ')
        .includes('notes:read')
    )
      return 403
    if (!validId(params)) return 400
    const note = store.get(params.id)
    if (note === undefined) return 404
    return note.ownerId === claims.sub ? note : 404
  }
}

const limitRate = { windowMs: RATE.duration * 1000, limit: RATE.points }

/** What the popular stacks do, per framework; all of it on the route, as the apiward stack is. */
const POPULAR = {
  express: {
    headers: [...HELMET_HEADERS, 'vary', 'ratelimit', 'ratelimit-policy'],
    about:
      'pino-http to a file, helmet, cors (origin list), express-rate-limit per IP, express-jwt (ES256 KeyObject, no cache), express-rate-limit per subject (draft-8 headers), scope, ajv on the id and owner by hand',
    install: async (app, config) => {
      const { default: helmet } = await import('helmet')
      const { default: cors } = await import('cors')
      const { expressjwt } = await import('express-jwt')
      const { rateLimit } = await import('express-rate-limit')
      const { pinoHttp } = await import('pino-http')
      const check = await byHand()
      const limiter = (identifier, keyGenerator) =>
        rateLimit({
          ...limitRate,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
          identifier,
          keyGenerator,
        })
      app.get(
        ROUTE,
        pinoHttp({ logger: await fileLogger('pino-http') }),
        helmet(),
        cors({ origin: ORIGINS, allowedHeaders: ALLOWED_HEADERS }),
        limiter('anonymous', undefined),
        expressjwt({ secret: es256Key(config), algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE }),
        limiter('client', (req) => req.auth.sub),
        (req, res) => {
          const out = check(req.auth, req.params)
          if (typeof out === 'number') res.status(out).json({ error: out })
          else res.json(out)
        },
      )
      app.use((err, _req, res, _next) => res.status(err.status ?? 500).json({ code: err.code ?? 'error' }))
    },
  },
  koa: {
    headers: [...HELMET_HEADERS, 'vary', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    about:
      'koa-pino-logger to a file, koa-helmet, @koa/cors (origin list), koa-ratelimit per IP, koa-jwt (ES256 KeyObject, no cache), koa-ratelimit per subject, scope, ajv on the id and owner by hand',
    install: async (router, config) => {
      const { default: helmet } = await import('koa-helmet')
      const { default: cors } = await import('@koa/cors')
      const { default: koaJwt } = await import('koa-jwt')
      const { default: ratelimit } = await import('koa-ratelimit')
      const { default: pinoLogger } = await import('koa-pino-logger')
      const check = await byHand()
      const limiter = (id) =>
        ratelimit({ driver: 'memory', db: new Map(), duration: limitRate.windowMs, max: limitRate.limit, id })
      router.get(
        ROUTE,
        pinoLogger({ logger: await fileLogger('koa-pino-logger') }),
        helmet(),
        cors({
          origin: (ctx) => (ORIGINS.includes(ctx.get('Origin')) ? ctx.get('Origin') : ''),
          allowHeaders: ALLOWED_HEADERS,
        }),
        limiter((ctx) => ctx.ip),
        koaJwt({ secret: es256Key(config), algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE }),
        limiter((ctx) => ctx.state.user.sub),
        (ctx) => {
          const out = check(ctx.state.user, ctx.params)
          if (typeof out === 'number') {
            ctx.status = out
            ctx.body = { error: out }
          } else ctx.body = out
        },
      )
    },
  },
  fastify: {
    headers: [...HELMET_HEADERS, 'vary', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    about:
      "Fastify's request line with pino to a file, @fastify/helmet, @fastify/cors (origin list), @fastify/rate-limit per IP and per subject, @fastify/jwt (ES256, its verified-token cache on), route schema.params, scope and owner by hand",
    install: async (app, config) => {
      const { fastifyHelmet } = await import('@fastify/helmet')
      const { default: cors } = await import('@fastify/cors')
      const { fastifyJwt } = await import('@fastify/jwt')
      const { fastifyRateLimit } = await import('@fastify/rate-limit')
      const check = await byHand()
      const logger = await fileLogger('fastify-logger')
      await app.register(fastifyHelmet)
      await app.register(cors, { origin: ORIGINS, allowedHeaders: ALLOWED_HEADERS })
      await app.register(fastifyRateLimit, { global: false })
      await app.register(fastifyJwt, {
        secret: { public: config.keys.ES256.pem },
        verify: { algorithms: ['ES256'], allowedIss: ISSUER, allowedAud: AUDIENCE, cache: true },
      })
      // Fastify's own `logger: true` writes this line from its response hook; the bench's app is built without it.
      app.addHook('onResponse', (request, reply, done) => {
        logger.info(
          { reqId: request.id, res: { statusCode: reply.statusCode }, responseTime: reply.elapsed },
          'request completed',
        )
        done()
      })
      const rate = { max: limitRate.limit, timeWindow: limitRate.windowMs }
      app.get(
        ROUTE,
        {
          schema: { params: NOTE_ID },
          onRequest: [app.rateLimit(rate), (request) => request.jwtVerify()],
          preHandler: [app.rateLimit({ ...rate, keyGenerator: (request) => request.user.sub })],
        },
        async (request, reply) => {
          const out = check(request.user, request.params)
          return typeof out === 'number' ? reply.code(out).send({ error: out }) : out
        },
      )
    },
  },
  hono: {
    headers: [...HONO_HEADERS, 'vary', 'ratelimit', 'ratelimit-policy'],
    about:
      'pino to a file in a middleware, hono/secure-headers, hono/cors (origin list), hono-rate-limiter per IP, hono/jwk (ES256 JWKS, no cache), hono-rate-limiter per subject (draft-7 headers), scope, ajv on the id and owner by hand',
    install: async (app, config) => {
      const { secureHeaders } = await import('hono/secure-headers')
      const { cors } = await import('hono/cors')
      const { jwk } = await import('hono/jwk')
      const { rateLimiter } = await import('hono-rate-limiter')
      const check = await byHand()
      const logger = await fileLogger('hono-pino')
      const limiter = (keyGenerator) =>
        rateLimiter({ ...limitRate, standardHeaders: 'draft-7', keyGenerator })
      app.get(
        ROUTE,
        async (c, next) => {
          const start = performance.now()
          await next()
          logger.info(
            {
              req: { method: c.req.method, url: c.req.path },
              res: { statusCode: c.res.status },
              responseTime: performance.now() - start,
            },
            'request completed',
          )
        },
        secureHeaders(),
        cors({ origin: ORIGINS, allowHeaders: ALLOWED_HEADERS }),
        limiter((c) => c.env.incoming.socket.remoteAddress),
        jwk({ keys: [config.keys.ES256.jwk], alg: ['ES256'], verification: { iss: ISSUER, aud: AUDIENCE } }),
        limiter((c) => c.get('jwtPayload').sub),
        (c) => {
          const out = check(c.get('jwtPayload'), c.req.param())
          return typeof out === 'number' ? c.json({ error: out }, out) : c.json(out)
        },
      )
    },
  },
}

export const stacks = [
  {
    ...route,
    name: 'reference',
    apiward: true,
    headers: ['x-request-id', ...PRESET_HEADERS, 'vary', 'ratelimit', 'ratelimit-policy'],
    guards: async (config) => {
      const { jwt } = await import('@apiward/auth')
      const { owner } = await import('@apiward/authz')
      const { apiStack } = await import('@apiward/presets')
      const stack = apiStack({
        authenticate: jwt({
          jwks: { keys: [config.keys.ES256.jwk] },
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['ES256'],
          clockTolerance: 30,
          realm: REALM,
        }),
        cors: { origins: ORIGINS, allowedHeaders: ALLOWED_HEADERS },
        rateLimit: RATE,
        realm: REALM,
        audit: { destination: { file: benchFile('audit') } },
      })
      process.once('exit', () => stack.audit.closeSync())
      const store = notes()
      const readNote = owner({
        load: (ctx) => store.get(ctx.req.params.id),
        ownerOf: (note) => note.ownerId,
        bypassRoles: ['admin'],
        realm: REALM,
      })
      return [
        ...stack.edge,
        ...stack.route({ scopes: ['notes:read'], validate: { params: NOTE_ID }, after: [readNote] }),
      ]
    },
    limit,
    budget: {
      instructions: 20000,
      label:
        "the reference API's full stack for GET /notes/:id: adapter, headers, CORS, two budgets, cached jwt(), scopes, id validation, owner(), audit line",
    },
    about:
      "the reference API's GET /notes/:id through apiStack(): secureHeaders(), cors() with an origin list, the per-IP and per-principal rateLimit() (memory), jwt() ES256 (warm token cache), scopes('notes:read'), validate({ params }), owner() from a Map, auditLog() to a file",
  },
  ...Object.entries(POPULAR).map(([framework, popular]) => ({
    ...route,
    name: `popular-reference-${framework}`,
    peerOf: 'reference',
    headers: popular.headers,
    install: { [framework]: popular.install },
    about: `the same job with the packages users pick: ${popular.about}`,
  })),
]
