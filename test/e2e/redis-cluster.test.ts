import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditLines, verifyAudit } from './support/audit.js'
import { type RedisCluster, startCluster } from './support/cluster.js'
import { cleanUp, type Example, scenarioFramework, startExample } from './support/example.js'
import { freshAddress } from './support/http.js'
import { type JwksServer, startJwks } from './support/jwks.js'
import { eventually, expectServed, load, sleep } from './support/load.js'
import { Client, expectProblem, sharesOneBudget } from './support/suite.js'

const POINTS = 6
const framework = scenarioFramework()

describe(`two instances of the ${framework} example on a three-node Redis Cluster`, () => {
  let cluster: RedisCluster
  let jwks: JwksServer
  let a: Example
  let b: Example
  const one = new Client(() => a.port)
  const two = new Client(() => b.port)
  let users = 0
  const reader = () => jwks.trusted.sign({ sub: `cluster-${++users}`, scope: 'notes:read' })

  const sharedBudget = async () => sharesOneBudget(one, two, await reader(), POINTS)

  beforeAll(async () => {
    ;[cluster, jwks] = await Promise.all([startCluster(), startJwks()])
    const env = { REDIS_CLUSTER_NODES: cluster.seeds, JWKS_URL: jwks.url, RATE_LIMIT_POINTS: String(POINTS) }
    ;[a, b] = await Promise.all([startExample(framework, env), startExample(framework, env)])
    // The ready line may come before the cluster client has its slot map: until then the
    // outage policy decides. The scenario starts once both instances count in the cluster.
    expect(await eventually(sharedBudget, 10_000)).toBe(true)
  })
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await jwks?.stop()
    await cluster?.stop()
    cleanUp()
  })

  it('shares the per-principal budgets of many principals across both instances', async () => {
    // Principals hash to slots on every node: a few of them cover the three masters.
    for (let i = 0; i < 4; i++) expect(await sharedBudget()).toBe(true)
  })

  it('shares the per-IP budget and the brute-force counter across both instances', async () => {
    const from = freshAddress()
    for (let i = 0; i < POINTS; i++)
      expect((await (i % 2 ? two : one).get('/notes', 'bad.token', from)).status).toBe(401)
    expectProblem(await two.get('/notes', 'bad.token', from), 429, 'ratelimit.exceeded')
    const login = freshAddress()
    const attempt = (client: Client, password: string) =>
      client.json('POST', '/login', undefined, { username: 'alice', password }, login)
    for (let i = 0; i < 5; i++)
      expect((await attempt(i % 2 ? two : one, 'wrong-password-1')).status).toBe(401)
    expectProblem(await attempt(two, 'alice-password-1'), 429)
  })

  it('answers every request without a 5xx or a hang when one node is killed, and still limits', async () => {
    const result = await load([a, b], reader, async () => {
      await sleep(300)
      await cluster.kill(1)
      await sleep(2000)
    })
    expectServed(result)
    const t = await reader()
    const statuses: number[] = []
    for (let i = 0; i < POINTS + 1; i++) statuses.push((await one.get('/notes', t)).status)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.at(-1)).toBe(429)
  })

  it('goes back to the shared budgets once the node is back, without a restart', async () => {
    await cluster.restart(1)
    expect(
      await eventually(
        async () => (await sharedBudget()) && (await sharedBudget()) && (await sharedBudget()),
        20_000,
      ),
    ).toBe(true)
  })

  it('closes each instance with its own verifiable audit file', async () => {
    expect(await a.stop()).toBe(0)
    expect(await b.stop()).toBe(0)
    for (const app of [a, b]) {
      expect(verifyAudit(app.auditFile).problem).toBeUndefined()
      expect(auditLines(app.auditFile).some((l) => l.event === 'ratelimit.degraded')).toBe(true)
    }
  })
})
