import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { auditLog } from '@apiward/audit-log'
import { apiKey, dpop, generateApiKey, jwt, redisDpopReplayStore, redisRevocationStore } from '@apiward/auth'
import { scopes } from '@apiward/authz'
import { frameworkErrors } from '@apiward/fastify'
import { cors, secureHeaders } from '@apiward/headers'
import { createGuard } from '@apiward/hono'
import { apiStack } from '@apiward/presets'
import { bruteForce, rateLimit, redisStore } from '@apiward/ratelimit'
import { validate } from '@apiward/validate'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'

// The configurations the getting-started pages and the recipes show, built with the same option
// names: a name that does not exist would throw here as it would at a user's startup. No client
// connects (lazyConnect), since building a guard never talks to Redis.
const redis = new Redis({ lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
afterAll(() => redis.disconnect())

const ISSUER = 'https://id.example.com/'

describe('the code samples of the guides', () => {
  it('builds the stack of the getting-started pages', () => {
    expect(() => [
      secureHeaders(),
      cors({ origins: ['https://app.example.com'] }),
      rateLimit({ name: 'anonymous', points: 100, duration: 60, onlyUnauthenticated: true }),
      jwt({
        jwksUri: 'https://issuer.example.com/.well-known/jwks.json',
        issuer: 'https://issuer.example.com/',
        audience: 'notes-api',
        algorithms: ['ES256', 'RS256'],
      }),
      rateLimit({ name: 'client', key: 'principal', points: 100, duration: 60 }),
      scopes('notes:read'),
      validate({
        body: {
          type: 'object',
          properties: {
            title: { type: 'string', minLength: 1, maxLength: 200 },
            body: { type: 'string', maxLength: 10000 },
          },
          required: ['title'],
          additionalProperties: false,
        },
        json: { limit: 65536 },
      } as const),
      frameworkErrors(),
      createGuard({ trustProxy: 0 }),
    ]).not.toThrow()
  })

  it('builds the preset of the getting-started pages, with an edge and a route', () => {
    const auth = jwt({
      jwksUri: 'https://issuer.example.com/jwks.json',
      issuer: ISSUER,
      audience: 'notes-api',
    })
    const stack = apiStack({
      authenticate: auth,
      cors: { origins: ['https://app.example.com'] },
      rateLimit: { points: 100, duration: 60 },
      audit: false,
    })
    expect(stack.edge.length).toBeGreaterThan(0)
    expect(stack.route({ scopes: ['notes:read'] })).toContain(auth)
  })

  it('builds the shared stores of the load-balancer recipe', () => {
    const store = redisStore({ client: redis, instances: 3 })
    expect(() => [
      rateLimit({
        name: 'anonymous',
        points: 100,
        duration: 60,
        onlyUnauthenticated: true,
        store,
        onStoreFailure: 'fail-open',
      }),
      rateLimit({
        name: 'client',
        key: 'principal',
        points: 100,
        duration: 60,
        store,
        onStoreFailure: 'fail-open',
      }),
      bruteForce({ store, onStoreFailure: 'fail-closed' }),
      jwt({
        jwksUri: 'https://id.example.com/.well-known/jwks.json',
        issuer: ISSUER,
        audience: 'notes-api',
        revocation: redisRevocationStore({ client: redis, onStoreFailure: 'fail-closed' }),
      }),
    ]).not.toThrow()
  })

  it('writes the audit file of the load-balancer recipe with an HMAC key from the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apiward-samples-'))
    process.env.AUDIT_HMAC_KEY = 'a-test-key-of-the-samples-0123456789abcdef'
    try {
      const log = auditLog({ destination: { file: join(dir, 'audit.log') }, hmacKeyEnv: 'AUDIT_HMAC_KEY' })
      await log.close()
    } finally {
      delete process.env.AUDIT_HMAC_KEY
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('builds the API key guard and limiters of the database recipe', () => {
    const { id, hash } = generateApiKey({ prefix: 'ak_live' })
    const apiKeys = apiKey({
      prefix: 'ak_live',
      lookup: async (keyId) =>
        keyId === id ? { hash, owner: 'reports-bot', scopes: ['reports:read'] } : undefined,
      cache: { ttl: 30, max: 10_000 },
    })
    expect(apiKeys).toBeTypeOf('function')
    expect(() => rateLimit({ name: 'per-key', points: 1000, duration: 3600, key: 'apiKey' })).not.toThrow()
  })

  it('builds the JWKS and discovery configurations of the identity-provider recipe', () => {
    expect(() => [
      jwt({
        jwksUri: 'https://id.example.com/.well-known/jwks.json',
        issuer: ISSUER,
        audience: 'https://api.example.com',
        algorithms: ['RS256'],
        clockTolerance: 30,
        jwksOptions: { timeoutMs: 3000, cooldownMs: 30_000, maxAgeMs: 600_000 },
        rolesClaim: 'realm_access.roles',
      }),
      jwt({ issuer: ISSUER, discovery: true, audience: 'https://api.example.com' }),
    ]).not.toThrow()
  })

  it('builds the DPoP policy of the public-clients recipe and hands it to jwt()', () => {
    const proofs = dpop({
      origin: 'https://api.example.com',
      replay: redisDpopReplayStore({ client: redis }),
      nonceSecret: 'a-nonce-secret-of-at-least-32-characters',
      required: true,
    })
    expect(() =>
      jwt({
        jwksUri: 'https://id.example.com/.well-known/jwks.json',
        issuer: ISSUER,
        audience: 'https://api.example.com',
        dpop: proofs,
      }),
    ).not.toThrow()
  })

  it('would catch a misspelled option in a sample, as a user would at startup', () => {
    expect(() =>
      jwt({ jwksURI: 'https://id.example.com/jwks', issuer: ISSUER, audience: 'a' } as never),
    ).toThrow(TypeError)
    expect(() => rateLimit({ max: 100, windowMs: 60_000 } as never)).toThrow(TypeError)
  })
})
