import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisProcess, startRedis } from '../support/redis.js'
import { auditLines, verifyAudit } from './support/audit.js'
import { cleanUp, type Example, FRAMEWORKS, startExample } from './support/example.js'
import { freshAddress } from './support/http.js'
import { type JwksServer, startJwks } from './support/jwks.js'
import { eventually } from './support/load.js'
import { Client, expectProblem } from './support/suite.js'

const POINTS = 6

describe.each(FRAMEWORKS)('two instances of the %s example on one redis-server', (framework) => {
  let redis: RedisProcess
  let jwks: JwksServer
  let a: Example
  let b: Example
  const one = new Client(() => a.port)
  const two = new Client(() => b.port)
  let users = 0
  const reader = () => jwks.trusted.sign({ sub: `shared-${++users}`, scope: 'notes:read' })
  const login = (client: Client, password: string, from: string) =>
    client.json('POST', '/login', undefined, { username: 'bob', password }, from)

  beforeAll(async () => {
    redis = await startRedis()
    jwks = await startJwks()
    const env = { REDIS_URL: redis.url, JWKS_URL: jwks.url, RATE_LIMIT_POINTS: String(POINTS) }
    ;[a, b] = await Promise.all([startExample(framework, env), startExample(framework, env)])
    // The ready line may come before the Redis connection: the tests start once both count there.
    const counted = await eventually(async () => {
      const t = await reader()
      for (let i = 0; i < POINTS; i++) await one.get('/notes', t)
      return (await two.get('/notes', t)).status === 429
    }, 10_000)
    expect(counted).toBe(true)
  })
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await jwks?.stop()
    await redis?.stop()
    cleanUp()
  })

  it('counts one per-principal budget across both instances', async () => {
    const t = await reader()
    for (let i = 0; i < POINTS; i++) expect((await (i % 2 ? two : one).get('/notes', t)).status).toBe(200)
    expectProblem(await one.get('/notes', t), 429, 'ratelimit.exceeded')
    const other = await two.get('/notes', t)
    expectProblem(other, 429, 'ratelimit.exceeded')
    expect(other.header('ratelimit')).toMatch(/^"client";r=0;/)
  })

  it('counts one per-IP budget across both instances', async () => {
    const from = freshAddress()
    for (let i = 0; i < POINTS; i++)
      expect((await (i % 2 ? two : one).get('/notes', 'bad.token', from)).status).toBe(401)
    expectProblem(await two.get('/notes', await reader(), from), 429, 'ratelimit.exceeded')
    expectProblem(await one.get('/notes', 'bad.token', from), 429, 'ratelimit.exceeded')
  })

  it('counts one brute-force counter across both instances', async () => {
    const from = freshAddress()
    for (let i = 0; i < 5; i++)
      expect((await login(i < 3 ? one : two, 'wrong-password-1', from)).status).toBe(401)
    expectProblem(await login(one, 'bob-password-1', from), 429)
    const blocked = await login(two, 'bob-password-1', from)
    expectProblem(blocked, 429)
    expect(Number(blocked.header('retry-after'))).toBeGreaterThan(0)
  })

  it('writes each instance its own audit file, each a verifiable chain', async () => {
    expect(await a.stop()).toBe(0)
    expect(await b.stop()).toBe(0)
    expect(a.auditFile).not.toBe(b.auditFile)
    for (const [app, client, other] of [
      [a, one, two],
      [b, two, one],
    ] as const) {
      expect(verifyAudit(app.auditFile).problem).toBeUndefined()
      const ids = new Set(auditLines(app.auditFile).map((l) => l.requestId))
      for (const r of client.recorded)
        expect(ids.has(r.requestId), `${r.requestId} in its own file`).toBe(true)
      for (const r of other.recorded)
        expect(ids.has(r.requestId), `${r.requestId} in the other file`).toBe(false)
    }
  })
})
