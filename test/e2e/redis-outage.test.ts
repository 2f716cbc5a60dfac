import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisProcess, startRedis } from '../support/redis.js'
import { auditLines, verifyAudit } from './support/audit.js'
import { cleanUp, type Example, scenarioFramework, startExample } from './support/example.js'
import { type JwksServer, startJwks } from './support/jwks.js'
import { eventually, expectServed, load, sleep } from './support/load.js'
import { Client, sharesOneBudget } from './support/suite.js'

const POINTS = 6
const framework = scenarioFramework()

describe(`two instances of the ${framework} example when redis-server is killed mid-load`, () => {
  let redis: RedisProcess
  let jwks: JwksServer
  let a: Example
  let b: Example
  const one = new Client(() => a.port)
  const two = new Client(() => b.port)
  let users = 0
  const reader = () => jwks.trusted.sign({ sub: `outage-${++users}`, scope: 'notes:read' })

  const sharedBudget = async () => sharesOneBudget(one, two, await reader(), POINTS)

  beforeAll(async () => {
    redis = await startRedis()
    jwks = await startJwks()
    const env = { REDIS_URL: redis.url, JWKS_URL: jwks.url, RATE_LIMIT_POINTS: String(POINTS) }
    ;[a, b] = await Promise.all([startExample(framework, env), startExample(framework, env)])
    // The ready line may come before the Redis connection: the scenario starts once both count there.
    expect(await eventually(sharedBudget, 10_000)).toBe(true)
  })
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await jwks?.stop()
    await redis?.stop()
    cleanUp()
  })

  it('answers every request without a 5xx or a hang while Redis dies', async () => {
    const result = await load([a, b], reader, async () => {
      await sleep(300)
      await redis.kill()
      await sleep(1500)
    })
    expectServed(result)
    expect(result.statuses.filter((s) => s === 200).length).toBeGreaterThan(0)
  })

  it('still limits each principal with the in-memory insurance limiter', async () => {
    const t = await reader()
    const statuses: number[] = []
    for (let i = 0; i < POINTS + 1; i++) statuses.push((await one.get('/notes', t)).status)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.at(-1)).toBe(429)
    expect(statuses[0]).toBe(200)
  })

  it('goes back to the shared Redis budget without a restart', async () => {
    await redis.restart()
    expect(await eventually(sharedBudget)).toBe(true)
  })

  it('records the degraded decisions in each verifiable audit file', async () => {
    expect(await a.stop()).toBe(0)
    expect(await b.stop()).toBe(0)
    for (const app of [a, b]) {
      expect(verifyAudit(app.auditFile).problem).toBeUndefined()
      expect(auditLines(app.auditFile).some((l) => l.event === 'ratelimit.degraded')).toBe(true)
    }
  })
})
