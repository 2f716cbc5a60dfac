import { join } from 'node:path'
import { auditLog } from '@apiward/audit-log'
import { jwt } from '@apiward/auth'
import { SecurityEventBus } from '@apiward/core'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { eventually, send } from '../conformance/client.js'
import { harnesses } from '../conformance/servers/index.js'
import { recordsOf, tempDir } from './support.js'

const dir = tempDir()
const KEY = new TextEncoder().encode('s'.repeat(32))
const token = (sub: string) =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://issuer.test/')
    .setAudience('api')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(KEY)

describe('one authentication line per verified credential', () => {
  it('writes auth.success once per JWT, and one request.completed per use of it', async () => {
    const bus = new SecurityEventBus()
    const file = join(dir, 'auth-success.log')
    const log = auditLog({ destination: { file }, events: bus })
    const guard = jwt({ secret: KEY, issuer: 'https://issuer.test/', audience: 'api' })
    const server = await harnesses[0]!.start({
      events: bus,
      routes: [{ method: 'GET', path: '/me', guards: [guard] }],
    })
    const [alice, bob] = [await token('alice'), await token('bob')]
    for (const t of [alice, alice, alice, bob, bob]) {
      const answer = await send(`${server.url}/me`, { headers: { Authorization: `Bearer ${t}` } })
      expect(answer.status).toBe(200)
    }
    await eventually(() => log.stats().lines >= 1 + 2 + 5)
    await server.close()
    await log.close()
    const records = recordsOf(file)
    expect(records.filter((r) => r.event === 'auth.success').map((r) => r.principal)).toEqual([
      'alice',
      'bob',
    ])
    const uses = records.filter((r) => r.event === 'request.completed')
    expect(uses.map((r) => [r.principal, r.credential, r.status])).toEqual([
      ['alice', 'jwt', 200],
      ['alice', 'jwt', 200],
      ['alice', 'jwt', 200],
      ['bob', 'jwt', 200],
      ['bob', 'jwt', 200],
    ])
  })
})
