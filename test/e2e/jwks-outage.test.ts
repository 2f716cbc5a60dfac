import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditLines, linesOf, verifyAudit } from './support/audit.js'
import { cleanUp, type Example, FRAMEWORKS, startExample } from './support/example.js'
import { type JwksServer, startJwks } from './support/jwks.js'
import { Client, expectProblem } from './support/suite.js'

describe.each(FRAMEWORKS)('the %s example when its JWKS server goes down', (framework) => {
  let app: Example
  let jwks: JwksServer
  const client = new Client(() => app.port)
  let early: string
  const unknownKid: string[] = []

  beforeAll(async () => {
    jwks = await startJwks()
    app = await startExample(framework, { JWKS_URL: jwks.url })
    early = await jwks.trusted.sign({ sub: 'alice', scope: 'notes:read' })
    const res = await client.get('/notes', early)
    expect(res.status).toBe(200)
    expect(jwks.fetches).toBeGreaterThan(0)
    await jwks.stop()
  })
  afterAll(async () => {
    await app?.stop()
    await jwks?.stop()
    cleanUp()
  })

  it('keeps accepting new tokens signed with a cached key', async () => {
    for (const sub of ['alice', 'bob']) {
      const res = await client.get('/notes', await jwks.trusted.sign({ sub, scope: 'notes:read' }))
      expect(res.status).toBe(200)
      expect(res.json.items.every((n: { ownerId: string }) => n.ownerId === sub)).toBe(true)
    }
    expect((await client.get('/notes', early)).status).toBe(200)
  })

  it('answers a token with an unknown kid with a clean 401, quickly, every time', async () => {
    for (let i = 0; i < 3; i++) {
      const t = await jwks.unpublished.sign({ sub: 'mallory', scope: 'notes:read' })
      const started = performance.now()
      const res = await client.call({
        path: '/notes',
        headers: { Authorization: `Bearer ${t}` },
        timeoutMs: 4000,
      })
      expectProblem(res, 401, 'auth.invalid_token')
      expect(res.header('www-authenticate')).toMatch(/error="invalid_token"/)
      expect(res.text).not.toMatch(/ECONNREFUSED|fetch failed|127\.0\.0\.1/)
      unknownKid.push(res.header('x-request-id')!)
      expect(performance.now() - started, 'no hang on a dead JWKS server').toBeLessThan(4000)
    }
  })

  it('records the failures and closes a verifiable audit log on shutdown', async () => {
    expect(await app.stop()).toBe(0)
    const lines = auditLines(app.auditFile)
    for (const id of unknownKid) {
      const events = linesOf(lines, id).map((l) => l.event)
      expect(events).toContain('auth.failure')
      expect(events).toContain('request.completed')
    }
    expect(verifyAudit(app.auditFile).problem).toBeUndefined()
  })
})
