// The reference API's security configuration, written once; each framework example installs
// `edge` app-wide and the guards of each entry of `routes` on its route.
import { createHash, timingSafeEqual } from 'node:crypto'
import { anyOf, jwt } from '@apiward/auth'
import { casbin, owner, roles } from '@apiward/authz'
import { defineGuard } from '@apiward/core'
import { ApiError, Unauthorized } from '@apiward/errors'
import { apiStack } from '@apiward/presets'
import { bruteForce, redisStore } from '@apiward/ratelimit'
import { kValidated } from '@apiward/validate'
import { Cluster, Redis } from 'ioredis'

const REALM = 'notes-api'
const CHALLENGE = `Bearer realm="${REALM}"`
const JSON_ONLY = { limit: 64 * 1024, types: ['application/json'] }

const NOTE_ID = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64, pattern: '^[a-z0-9-]{1,64}$' } },
  required: ['id'],
}
const NOTE_FIELDS = {
  title: { type: 'string', minLength: 1, maxLength: 200 },
  body: { type: 'string', maxLength: 10000 },
  tags: { type: 'array', maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 32 } },
}
const NEW_NOTE = { type: 'object', properties: NOTE_FIELDS, required: ['title', 'body'] }
const NOTE_CHANGE = { type: 'object', properties: NOTE_FIELDS, minProperties: 1 }
const LIST_QUERY = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
}
const CREDENTIALS = {
  type: 'object',
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 128 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
  required: ['username', 'password'],
}

const DELETE_MODEL = `
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`
const DELETE_POLICY = 'p, admin, /notes/:id, DELETE\n'

const sha256 = (value) => createHash('sha256').update(value).digest()

/**
 * The API key of the service `reports-bot`: only its SHA-256 is kept, compared in constant time.
 * The key is not in `apiKey()`'s generated format (the contract fixes its value), hence a guard
 * of its own with the same principal and events.
 */
function reportsKey(key) {
  const digest = sha256(key)
  const principal = Object.freeze({
    id: 'reports-bot',
    kind: 'service',
    scopes: Object.freeze(['reports:read']),
    roles: Object.freeze([]),
    claims: Object.freeze({}),
    credential: 'api_key',
  })
  const refuse = (ctx, reason) => {
    ctx.emit('auth.failure', {
      severity: 'warn',
      code: 'auth.invalid_api_key',
      reason,
      credential: 'api_key',
    })
    throw new Unauthorized({
      code: 'auth.invalid_api_key',
      detail: 'The API key is invalid.',
      headers: { 'WWW-Authenticate': CHALLENGE },
    })
  }
  const guard = defineGuard(
    (ctx) => {
      const values = ctx.req.headerValues('x-api-key')
      if (values === undefined || values.length !== 1) return refuse(ctx, 'malformed')
      if (!timingSafeEqual(sha256(values[0]), digest)) return refuse(ctx, 'unknown_key')
      ctx.principal = principal
      ctx.emit('auth.success', { severity: 'info', credential: 'api_key', keyId: 'reports-bot' })
    },
    { guardName: 'reportsKey', kind: 'authentication' },
  )
  return Object.assign(guard, { hasCredential: (req) => req.header('x-api-key') !== undefined })
}

const MAX_PARAM_BYTES = 1024

/**
 * A path parameter over 1 KiB as sent is a 414 on every framework, as Fastify's
 * `maxParamLength: 1024` answers it, before CORS and the budgets.
 */
function parameterLength(paths) {
  const patterns = paths
    .filter((path) => path.includes('/:'))
    .map((path) => new RegExp(`^${path.replace(/:[A-Za-z]+/g, '([^/]*)')}$`))
  return defineGuard(
    (ctx) => {
      const raw = ctx.req.rawPath
      if (raw.length <= MAX_PARAM_BYTES) return
      for (const pattern of patterns) {
        const match = pattern.exec(raw)
        if (match?.slice(1).some((value) => value.length > MAX_PARAM_BYTES)) {
          throw new ApiError(414, {
            code: 'request.uri_too_long',
            detail: 'The request URI is longer than allowed.',
          })
        }
      }
    },
    { guardName: 'parameterLength', kind: 'validation' },
  )
}

function redisClient(settings) {
  const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false }
  if (settings.redisClusterNodes !== undefined) {
    return new Cluster(settings.redisClusterNodes, {
      enableOfflineQueue: false,
      redisOptions: { maxRetriesPerRequest: 1 },
      clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
    })
  }
  if (settings.redisUrl !== undefined) {
    return new Redis(settings.redisUrl, { ...options, retryStrategy: (times) => Math.min(100 * times, 1000) })
  }
  return undefined
}

/**
 * Builds every guard of the reference API from its settings.
 * @param {import('./config.js').Settings} settings
 * @param {ReturnType<import('./domain.js').createDomain>} domain
 */
export function createSecurity(settings, domain) {
  const redis = redisClient(settings)
  // Swallowed here because the store reports outages itself (ratelimit.degraded events).
  redis?.on('error', () => {})
  const store = redis === undefined ? undefined : redisStore({ client: redis })
  const outage = store === undefined ? {} : { store, onStoreFailure: 'fail-open' }

  const user = jwt({
    ...(settings.jwksUrl !== undefined ? { jwksUri: settings.jwksUrl } : { jwks: settings.devJwks }),
    issuer: settings.issuer,
    audience: settings.audience,
    algorithms: settings.jwksUrl !== undefined ? ['ES256', 'RS256', 'EdDSA'] : ['ES256'],
    clockTolerance: 30,
    realm: REALM,
  })
  const stack = apiStack({
    authenticate: user,
    cors: {
      origins: ['https://app.example.test'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Api-Version', 'X-API-Key'],
    },
    rateLimit: {
      points: settings.points,
      duration: settings.duration,
      exempt: ['/health'],
      ...outage,
    },
    realm: REALM,
    requestChecks: [parameterLength(['/notes/:id'])],
    apiVersion: {
      supported: ['1', '2'],
      default: '2',
      deprecated: {
        1: {
          since: new Date('2025-01-01T00:00:00Z'),
          sunset: new Date('2027-01-01T00:00:00Z'),
          link: 'https://docs.example.test/notes-api/migrate-to-v2',
        },
      },
    },
    audit: settings.auditFile === undefined ? {} : { destination: { file: settings.auditFile } },
  })
  const userOrReportsBot = anyOf(reportsKey(settings.reportsApiKey), user)

  const ownNote = owner({
    load: (ctx) => domain.findNote(ctx.req.params.id),
    ownerOf: (n) => n.ownerId,
    realm: REALM,
  })
  const readNote = owner({
    load: (ctx) => domain.findNote(ctx.req.params.id),
    ownerOf: (n) => n.ownerId,
    bypassRoles: ['admin'],
    realm: REALM,
  })
  const login = bruteForce({ username: (ctx) => ctx.req.body?.username, ...outage })
  const deleting = casbin({ model: DELETE_MODEL, policy: DELETE_POLICY })

  /** A route's input as every framework hands it over: its validated parts and loaded note. */
  const inputOf = (principal, state, guard) => {
    const validated = state(kValidated) ?? {}
    return {
      principal,
      params: validated.params ?? {},
      query: validated.query ?? {},
      body: validated.body ?? {},
      note: guard === undefined ? undefined : state(guard.key),
    }
  }
  const route = (method, path, guards, handle, note) => ({
    method,
    path,
    guards,
    run: (principal, state) => handle(inputOf(principal, state, note)),
  })

  return {
    audit: stack.audit,
    redis,
    /** App-wide, before every route: secure headers, CORS, the per-IP budget. */
    edge: [...stack.edge],
    routes: [
      route('GET', '/health', [], domain.health),
      route(
        'GET',
        '/notes',
        stack.route({ scopes: ['notes:read'], validate: { query: LIST_QUERY } }),
        domain.listNotes,
      ),
      route(
        'GET',
        '/notes/:id',
        stack.route({ scopes: ['notes:read'], validate: { params: NOTE_ID }, after: [readNote] }),
        domain.getNote,
        readNote,
      ),
      route(
        'POST',
        '/notes',
        stack.route({ scopes: ['notes:write'], validate: { body: NEW_NOTE, json: JSON_ONLY } }),
        domain.createNote,
      ),
      route(
        'PATCH',
        '/notes/:id',
        stack.route({
          scopes: ['notes:write'],
          validate: { params: NOTE_ID, body: NOTE_CHANGE, json: JSON_ONLY },
          after: [ownNote],
        }),
        domain.patchNote,
        ownNote,
      ),
      route(
        'DELETE',
        '/notes/:id',
        stack.route({ authorize: [deleting], validate: { params: NOTE_ID } }),
        domain.deleteNote,
      ),
      route('GET', '/admin/users', stack.route({ roles: ['admin'] }), domain.adminUsers),
      route(
        'POST',
        '/login',
        stack.open({ validate: { body: CREDENTIALS, json: JSON_ONLY }, after: [login] }),
        domain.login,
      ),
      route(
        'GET',
        '/reports/usage',
        stack.route({ authenticate: userOrReportsBot, authorize: [reportsOrAdmin()] }),
        domain.reports,
      ),
    ],
  }
}

/** `reports-bot` through its scope, or a user with role `admin`. */
function reportsOrAdmin() {
  const admin = roles('admin', { realm: REALM })
  return defineGuard(
    (ctx) => {
      if (ctx.principal?.credential === 'api_key' && ctx.principal.scopes.includes('reports:read')) return
      return admin(ctx)
    },
    { guardName: 'reportsOrAdmin', kind: 'authorization' },
  )
}
