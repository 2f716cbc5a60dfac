import { dpop, jwt, redisDpopReplayStore } from '@apiward/auth'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { Redis } from 'ioredis'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { type RedisProcess, startRedis } from '../support/redis.js'
import { type DpopClient, dpopClient } from './dpop-support.js'

const ISSUER = 'https://id.example.test/'
const AUDIENCE = 'https://api.example.test'
const ORIGIN = 'https://api.example.test'

let redis: RedisProcess
let io: Redis
let client: DpopClient
let signingKey: CryptoKey
let publicKey: JWK

beforeAll(async () => {
  redis = await startRedis()
  io = new Redis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: 1, enableOfflineQueue: false })
  io.on('error', () => {})
  await new Promise((resolve) => io.once('ready', resolve))
  client = await dpopClient()
  const pair = await generateKeyPair('ES256')
  signingKey = pair.privateKey
  publicKey = await exportJWK(pair.publicKey)
})
afterAll(async () => {
  io.disconnect()
  await redis.stop()
})

const boundToken = () =>
  new SignJWT({ sub: 'user-1', cnf: { jkt: client.jkt } })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey)

/** Until every client answers a PING again after a restart. */
const reconnected = async (...clients: Array<{ ping(): Promise<string> }>) => {
  const end = Date.now() + 10_000
  for (const c of clients) {
    while (Date.now() < end && (await c.ping().catch(() => '')) !== 'PONG') {
      await new Promise((r) => setTimeout(r, 25))
    }
  }
}

const pairs = harnesses.map((first, i) => ({ first, second: harnesses[(i + 3) % harnesses.length]! }))

describe.each(pairs)(
  'a DPoP replay store in Redis shared by $first.name and $second.name',
  ({ first, second }) => {
    let a: RunningServer
    let b: RunningServer
    let open: RunningServer
    let nodeRedis: ReturnType<typeof createClient>
    const events: SecurityEvent[] = []
    const bus = new SecurityEventBus()
    bus.on((e) => events.push(e))
    const prefix = `test:${first.name}:`

    beforeAll(async () => {
      nodeRedis = createClient({ socket: { host: '127.0.0.1', port: redis.port, reconnectStrategy: 50 } })
      nodeRedis.on('error', () => {})
      await nodeRedis.connect()
      const guardOn = (store: ReturnType<typeof redisDpopReplayStore>, dangerously = false) =>
        jwt({
          publicKey,
          issuer: ISSUER,
          audience: AUDIENCE,
          dpop: dpop({
            origin: ORIGIN,
            replay: store,
            dangerouslyAcceptProofsWhenReplayStoreFails: dangerously,
          }),
        })
      const route = (store: ReturnType<typeof redisDpopReplayStore>, dangerously = false) => ({
        routes: [{ method: 'GET' as const, path: '/notes', guards: [guardOn(store, dangerously)] }],
        events: bus,
      })
      a = await first.start(route(redisDpopReplayStore({ client: io, prefix })))
      b = await second.start(route(redisDpopReplayStore({ client: nodeRedis, prefix })))
      open = await second.start(route(redisDpopReplayStore({ client: io, prefix }), true))
    })
    afterAll(async () => {
      await a.close()
      await b.close()
      await open.close()
      await nodeRedis.quit().catch(() => {})
    })

    const call = async (server: RunningServer, t: string, proof?: string) =>
      send(`${server.url}/notes`, {
        headers: {
          Authorization: `DPoP ${t}`,
          DPoP: proof ?? (await client.proof({ htm: 'GET', htu: `${ORIGIN}/notes`, token: t })),
        },
      })

    it('accepts a proof once, and refuses it on the other instance', async () => {
      const t = await boundToken()
      const proof = await client.proof({ htm: 'GET', htu: `${ORIGIN}/notes`, token: t })
      expect((await call(a, t, proof)).status).toBe(200)
      const replay = await call(b, t, proof)
      expect(replay.status).toBe(401)
      expect(replay.json.code).toBe('auth.invalid_dpop_proof')
      expect((await call(a, t, proof)).status).toBe(401)
    })

    it('accepts one of two concurrent uses of the same proof', async () => {
      const t = await boundToken()
      const proof = await client.proof({ htm: 'GET', htu: `${ORIGIN}/notes`, token: t })
      const answers = await Promise.all([call(a, t, proof), call(b, t, proof), call(a, t, proof)])
      expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401])
    })

    it('keeps each proof ID no longer than the proof window', async () => {
      const t = await boundToken()
      const proof = await client.proof({
        htm: 'GET',
        htu: `${ORIGIN}/notes`,
        token: t,
        jti: `ttl-${first.name}`,
      })
      expect((await call(a, t, proof)).status).toBe(200)
      const ttl = await io.pttl(`${prefix}${client.jkt}.ttl-${first.name}`)
      expect(ttl).toBeGreaterThan(60_000)
      expect(ttl).toBeLessThanOrEqual(70_000)
    })

    it('answers 503 with Retry-After while Redis is down, and never accepts a replay', async () => {
      const t = await boundToken()
      const used = await client.proof({ htm: 'GET', htu: `${ORIGIN}/notes`, token: t })
      expect((await call(a, t, used)).status).toBe(200)
      await redis.kill()
      try {
        for (const server of [a, b]) {
          const replay = await call(server, t, used)
          expect(replay.status).toBe(503)
          expect(replay.headers['retry-after']).toBe('1')
          expect(replay.json.code).toBe('auth.dpop_replay_unavailable')
          expect((await call(server, t)).status).toBe(503)
        }
        expect(events.some((e) => e.type === 'auth.error' && e.code === 'auth.dpop_replay_unavailable')).toBe(
          true,
        )
      } finally {
        await redis.restart()
      }
      await reconnected(io, nodeRedis)
      expect((await call(a, t)).status).toBe(200)
      expect((await call(b, t)).status).toBe(200)
    })

    it('accepts unchecked proofs during an outage only with the dangerously named opt-out', async () => {
      const t = await boundToken()
      await redis.kill()
      try {
        const res = await call(open, t)
        expect(res.status).toBe(200)
        expect(events.some((e) => e.type === 'auth.error' && (e as any).callback === 'dpop.replay.use')).toBe(
          true,
        )
      } finally {
        await redis.restart()
      }
      await reconnected(io, nodeRedis)
    })
  },
)

describe('redisDpopReplayStore() options', () => {
  it('refuses a value that is no Redis client', () => {
    expect(() => redisDpopReplayStore({ client: {} as never })).toThrow(
      /connected ioredis or node-redis client/,
    )
  })

  it('refuses a timeout out of range', () => {
    expect(() => redisDpopReplayStore({ client: io, timeoutMs: 0 })).toThrow(/timeoutMs/)
  })
})
