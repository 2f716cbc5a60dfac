import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditLines, linesOf } from './support/audit.js'
import { cleanUp, type Example, FRAMEWORKS, startExample } from './support/example.js'
import { freshAddress } from './support/http.js'
import { Client, expectProblem } from './support/suite.js'

const POINTS = 4

describe.each(FRAMEWORKS)('the %s example behind one trusted proxy (TRUST_PROXY=1)', (framework) => {
  let app: Example
  const client = new Client(() => app.port)
  const seen: Array<{ id: string; ip: string }> = []
  const anonymous = async (forwarded: string, from = freshAddress()) => {
    const res = await client.get('/notes', undefined, from, { 'X-Forwarded-For': forwarded })
    seen.push({ id: res.header('x-request-id')!, ip: forwarded })
    return res
  }

  beforeAll(async () => {
    app = await startExample(framework, { TRUST_PROXY: '1', RATE_LIMIT_POINTS: String(POINTS) })
  })
  afterAll(async () => {
    await app?.stop()
    cleanUp()
  })

  it('keys the per-IP budget by the forwarded client address, whichever proxy connection it comes on', async () => {
    for (let i = 0; i < POINTS; i++) expect((await anonymous('203.0.113.10')).status).toBe(401)
    expectProblem(await anonymous('203.0.113.10'), 429, 'ratelimit.exceeded')
    expect((await anonymous('203.0.113.11')).status).toBe(401)
  })

  it('trusts one hop only: an address the client prepended does not change its budget', async () => {
    for (let i = 0; i < POINTS; i++)
      expect((await anonymous(`198.51.100.${i + 1}, 203.0.113.20`)).status).toBe(401)
    expectProblem(await anonymous('198.51.100.99, 203.0.113.20'), 429, 'ratelimit.exceeded')
  })

  it('groups IPv6 clients by /64', async () => {
    for (let i = 0; i < POINTS; i++) expect((await anonymous(`2001:db8:1:2::${i + 1}`)).status).toBe(401)
    expectProblem(await anonymous('2001:db8:1:2:ffff::1'), 429, 'ratelimit.exceeded')
    expect((await anonymous('2001:db8:1:3::1')).status).toBe(401)
  })

  it('writes the forwarded client address as ip in the audit log', async () => {
    expect(await app.stop()).toBe(0)
    const lines = auditLines(app.auditFile)
    const single = seen.filter((s) => !s.ip.includes(','))
    expect(single.length).toBeGreaterThan(0)
    for (const { id, ip } of single) {
      const completed = linesOf(lines, id).find((l) => l.event === 'request.completed')
      expect(completed?.ip, id).toBe(ip)
    }
  })
})
