// What is measured: one route, the same answer, through each framework and each stack. Shared by
// the runner (smoke checks, tables) and the servers (what to build).

export const FRAMEWORKS = ['express', 'koa', 'fastify']

export const PATH = '/hello?limit=10'

/** The body every stack answers with; the smoke check compares it exactly. */
export const BODY = { message: 'hello', limit: 10, items: [1, 2, 3] }

export const ISSUER = 'https://issuer.bench.test/'
export const AUDIENCE = 'https://api.bench.test'
export const SUBJECT = 'alice'

/**
 * `apiward`: served through the framework's apiward adapter. `token`: which signed token wrk
 * sends (and the smoke check expects 401 without it). `redis`: needs the bench's redis-server.
 * `jwt`: needs `jwt` from @apiward/auth.
 * `introspection`: needs `introspection` from @apiward/auth. `adapterOptions`: given to the adapter's createGuard() and
 * error handling.
 */
export const STACKS = [
  { name: 'bare', about: 'the framework alone: the ceiling every other stack is a ratio to' },
  {
    name: 'noop',
    about:
      "one no-op middleware of the framework's own (Fastify: an onRequest hook): the floor of any middleware-based guard",
  },
  { name: 'empty', apiward: true, about: 'guard() with no guards, plus the adapter error handling' },
  {
    name: 'empty-noRequestId',
    apiward: true,
    adapterOptions: { requestIdHeader: false },
    about: 'empty with requestIdHeader: false: the adapter without the X-Request-Id response header',
  },
  {
    name: 'rateLimit-memory',
    apiward: true,
    about: 'rateLimit({ points: 1e9, duration: 60 }), memory store',
  },
  {
    name: 'rateLimit-memory-noHeaders',
    apiward: true,
    adapterOptions: { requestIdHeader: false },
    about:
      'rateLimit-memory with standardHeaders: false and requestIdHeader: false: the limiter without response headers',
  },
  {
    name: 'rateLimit-redis',
    apiward: true,
    redis: true,
    about: "rateLimit() on redisStore (ioredis, local redis-server), onStoreFailure 'fail-closed'",
  },
  {
    name: 'jwt-ES256-cache',
    apiward: true,
    jwt: { alg: 'ES256', cache: true },
    token: 'ES256',
    about: 'jwt() with a local JWKS, ES256, verified-token cache on (the default)',
  },
  {
    name: 'jwt-ES256-nocache',
    apiward: true,
    jwt: { alg: 'ES256', cache: false },
    token: 'ES256',
    about: 'jwt() with a local JWKS, ES256, tokenCache: false (a signature check per request)',
  },
  {
    name: 'jwt-RS256-cache',
    apiward: true,
    jwt: { alg: 'RS256', cache: true },
    token: 'RS256',
    about: 'jwt() with a local JWKS, RS256, verified-token cache on (the default)',
  },
  {
    name: 'jwt-RS256-nocache',
    apiward: true,
    jwt: { alg: 'RS256', cache: false },
    token: 'RS256',
    about: 'jwt() with a local JWKS, RS256, tokenCache: false (a signature check per request)',
  },
  {
    name: 'introspection-cache',
    apiward: true,
    introspection: true,
    token: 'opaque',
    about:
      'introspection() of an opaque token against a loopback introspection endpoint, the memory answer cache warm (wrk sends one token)',
  },
  {
    name: 'introspection-limit',
    token: 'opaque',
    about:
      'the limit of introspection-cache: the bare route reading the bearer token, a SHA-256 of it looked up in a Map by hand, X-Request-Id set, 401 without it',
  },
  {
    name: 'popular',
    token: 'RS256',
    about:
      'what a user assembles from popular packages: headers, JWT (RS256 PEM), memory rate limit, ajv on the query, casbin RBAC, request log to /dev/null',
  },
]

export const stackByName = new Map(STACKS.map((s) => [s.name, s]))
