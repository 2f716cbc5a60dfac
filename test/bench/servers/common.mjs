// Pieces every framework's server shares: the apiward guards of a stack, and the building blocks
// of the `popular` stacks (ajv, casbin, a pino destination that discards).
import { hash as digest, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { AUDIENCE, ISSUER, SUBJECT, stackByName } from '../stacks.mjs'

/** The options a stack gives the adapter's createGuard() and error handling. */
export function adapterOptions(stackName) {
  return stackByName.get(stackName).adapterOptions ?? {}
}

/** The apiward guards of a stack, built once at startup as a user would. */
export async function apiwardGuards(stackName, config) {
  const stack = stackByName.get(stackName)
  if (stack.name === 'empty' || stack.name === 'empty-noRequestId') return []
  if (stack.name === 'rateLimit-memory') {
    const { rateLimit } = await import('@apiward/ratelimit')
    return [rateLimit({ points: 1e9, duration: 60 })]
  }
  if (stack.name === 'rateLimit-memory-noHeaders') {
    const { rateLimit } = await import('@apiward/ratelimit')
    return [rateLimit({ points: 1e9, duration: 60, standardHeaders: false })]
  }
  if (stack.name === 'rateLimit-redis') {
    const { rateLimit, redisStore } = await import('@apiward/ratelimit')
    const { Redis } = await import('ioredis')
    const client = new Redis({
      host: '127.0.0.1',
      port: config.redisPort,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    })
    await once(client, 'ready')
    const store = redisStore({ client, prefix: `bench:${process.pid}:` })
    return [rateLimit({ points: 1e9, duration: 60, store, onStoreFailure: 'fail-closed' })]
  }
  if (stack.jwt) {
    const { jwt } = await import('@apiward/auth')
    const { alg, cache } = stack.jwt
    return [
      jwt({
        jwks: { keys: [config.keys[alg].jwk] },
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: [alg],
        ...(cache ? {} : { tokenCache: false }),
      }),
    ]
  }
  if (stack.introspection) {
    const { introspection } = await import('@apiward/auth')
    const endpoint = await introspectionEndpoint(config.opaqueToken)
    return [
      introspection({
        issuer: ISSUER,
        introspectionEndpoint: endpoint,
        clientId: 'bench-api',
        clientAuthentication: { method: 'client_secret_basic', clientSecret: 'bench-secret' },
        audience: AUDIENCE,
        // Longer than any run, so the measured requests are all cache hits.
        cache: { ttl: 3600 },
      }),
    ]
  }
  throw new Error(`${stackName} is not an apiward stack`)
}

/** What the authorization server says of the bench's opaque token (RFC 7662). */
function activeAnswer() {
  const now = Math.floor(Date.now() / 1000)
  return {
    active: true,
    sub: SUBJECT,
    aud: AUDIENCE,
    scope: 'notes:read',
    client_id: 'bench-app',
    iat: now,
    exp: now + 7200,
  }
}

/**
 * An introspection endpoint on loopback, in the server's own process: it answers the first
 * request of a run, the cache answers every other.
 */
async function introspectionEndpoint(token) {
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
      const body = form.get('token') === token ? activeAnswer() : { active: false }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  server.unref()
  return `http://127.0.0.1:${server.address().port}/introspect`
}

/**
 * The limit of `introspection-cache`, by hand: the bearer token of the `Authorization` header,
 * its SHA-256 looked up in a Map filled at startup. Returns the principal, or `undefined` (401).
 * Frameworks also set `X-Request-Id`, the one response header the apiward stack adds.
 */
export function introspectionLimit(config) {
  const hash = (token) => digest('sha256', token, 'base64url')
  const answer = activeAnswer()
  const known = new Map([
    [
      hash(config.opaqueToken),
      {
        id: answer.sub,
        kind: 'user',
        scopes: ['notes:read'],
        roles: [],
        claims: answer,
        credential: 'introspection',
      },
    ],
  ])
  return {
    requestId: () => randomUUID(),
    principalOf(authorization) {
      if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return undefined
      return known.get(hash(authorization.slice(7)))
    },
  }
}

/** The query schema of the `popular` stacks, for ajv and for Fastify's route schema. */
export const QUERY_SCHEMA = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100 } },
  required: ['limit'],
  additionalProperties: false,
}

/** The query validator, compiled once. */
export async function queryValidator() {
  const { Ajv } = await import('ajv')
  return new Ajv({ coerceTypes: true }).compile(QUERY_SCHEMA)
}

/** A casbin RBAC enforcer over the model and policy the runner wrote to a temp dir. */
export async function casbinEnforcer(config) {
  const { newEnforcer } = await import('casbin')
  return newEnforcer(config.casbin.model, config.casbin.policy)
}

/** A pino logger writing to /dev/null: the cost of logging a line without a disk behind it. */
export async function nullLogger() {
  const { pino } = await import('pino')
  return pino(pino.destination('/dev/null'))
}
