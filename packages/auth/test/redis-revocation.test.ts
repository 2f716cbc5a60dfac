import { randomBytes } from 'node:crypto'
import { jwt, redisRevocationStore } from '@apiward/auth'
import { Redis } from 'ioredis'
import { SignJWT } from 'jose'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisProcess, startRedis } from '../../../test/support/redis.js'
import { outcome, withToken } from './support.js'

const ISS = 'https://id.example.test/'
const AUD = 'api'
const secret = randomBytes(32)
const now = () => Math.floor(Date.now() / 1000)
const token = (jti: string) =>
  new SignJWT({ iss: ISS, aud: AUD, sub: 'alice', jti, exp: now() + 600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(secret)

let redis: RedisProcess
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis.stop()
})

describe('redisRevocationStore()', () => {
  it('requires an explicit outage policy', () => {
    const client = new Redis({ port: redis.port, lazyConnect: true })
    expect(() => redisRevocationStore({ client } as never)).toThrow(/onStoreFailure is required/)
    client.disconnect()
  })

  it('shares revocations between instances through Redis (ioredis and node-redis)', async () => {
    const io = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
    const nodeRedis = createClient({ socket: { port: redis.port, host: '127.0.0.1' } })
    await nodeRedis.connect()
    try {
      const a = redisRevocationStore({ client: io, onStoreFailure: 'fail-closed' })
      const b = redisRevocationStore({ client: nodeRedis, onStoreFailure: 'fail-closed' })
      const guardA = jwt({ secret, issuer: ISS, audience: AUD, revocation: a })
      const guardB = jwt({ secret, issuer: ISS, audience: AUD, revocation: b })
      const t1 = await token('t1')
      const t2 = await token('t2')
      expect(await outcome(guardA, withToken(t1))).toBeUndefined()
      expect(await outcome(guardB, withToken(t1))).toBeUndefined()
      await b.revoke('t1', now() + 600)
      await a.revoke('t2', now() + 600)
      expect((await outcome(guardA, withToken(t1)))?.code).toBe('auth.invalid_token')
      expect((await outcome(guardB, withToken(t2)))?.code).toBe('auth.invalid_token')
      expect(await io.ttl('apiward:revoked:t1')).toBeGreaterThan(590)
    } finally {
      io.disconnect()
      await nodeRedis.quit()
    }
  })

  it('answers 503 when fail-closed and passes when fail-open while Redis is down, then recovers', async () => {
    const client = new Redis({
      port: redis.port,
      host: '127.0.0.1',
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    })
    client.on('error', () => {})
    await new Promise((resolve) => client.once('ready', resolve))
    try {
      const closed = jwt({
        secret,
        issuer: ISS,
        audience: AUD,
        revocation: redisRevocationStore({ client, onStoreFailure: 'fail-closed' }),
      })
      const open = jwt({
        secret,
        issuer: ISS,
        audience: AUD,
        revocation: redisRevocationStore({ client, onStoreFailure: 'fail-open' }),
      })
      const t = await token('t3')
      expect(await outcome(closed, withToken(t))).toBeUndefined()
      await redis.kill()
      const started = Date.now()
      const refused = await outcome(closed, withToken(t))
      expect(refused?.status).toBe(503)
      expect(refused?.code).toBe('auth.revocation_unavailable')
      expect(refused?.headers?.['Retry-After']).toBe('1')
      expect(await outcome(open, withToken(t))).toBeUndefined()
      expect(Date.now() - started).toBeLessThan(1000)
      await redis.restart()
      const end = Date.now() + 5000
      let back: unknown = 'down'
      while (Date.now() < end) {
        back = await outcome(closed, withToken(t))
        if (back === undefined) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(back).toBeUndefined()
    } finally {
      client.disconnect()
    }
  })
})
