import { randomBytes } from 'node:crypto'
import { anyOf, type CredentialGuard, type JwtOptions, jwt } from '@apiward/auth'
import { defineGuard, type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Answer, send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { AUDIENCE, ISSUER } from './jwt-support.js'

const secret = randomBytes(32)
const tenantSecret = randomBytes(32)
const TENANT = 'https://tenant-1.example.test/'
const failure = new Error('connect ECONNREFUSED 10.0.0.9:6379 (revocation.internal)')

function token(claims: Record<string, unknown> = {}, key: Uint8Array = secret): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    iat: now,
    exp: now + 600,
    jti: 'j1',
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(key)
}
const bearer = (value: string) => ({ headers: { Authorization: `Bearer ${value}` } })
const guardWith = (options: Partial<JwtOptions>) =>
  jwt({ secret, issuer: ISSUER, audience: AUDIENCE, ...options })

function expectInvalidToken(answer: Answer): void {
  expect(answer.status).toBe(401)
  expect(answer.json).toMatchObject({ code: 'auth.invalid_token', detail: 'The access token is invalid.' })
  expect(answer.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"')
}

function expectUnavailable(answer: Answer): void {
  expect(answer.status).toBe(503)
  expect(String(answer.headers['content-type'])).toMatch(/^application\/problem\+json/)
  expect(answer.headers['retry-after']).toBe('1')
  expect(answer.json).toMatchObject({
    status: 503,
    code: 'auth.unavailable',
    detail: 'The access token cannot be checked right now. Retry later.',
  })
  expect(answer.text).not.toMatch(/ECONNREFUSED|6379|internal|tenant database|stack|Error|\bat /)
}

// On Node 20 an unhandled rejection ends the process: every request below must leave none.
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
})
afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(unhandled).toEqual([])
})

describe.each(harnesses)('jwt() callbacks through $name', (harness) => {
  let server: RunningServer
  const events: SecurityEvent[] = []
  const unexpected: unknown[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const tenants = { mode: 'rejects' as 'rejects' | 'up', calls: 0 }
  const oddMember: CredentialGuard = Object.assign(
    defineGuard(() => {}, { guardName: 'session' }),
    {
      hasCredential: () => {
        throw new Error('cookie parser failed')
      },
    },
  )

  beforeAll(async () => {
    server = await harness.start({
      events: bus,
      onUnexpectedError: (err) => unexpected.push(err),
      routes: [
        {
          method: 'GET',
          path: '/validate-async',
          guards: [guardWith({ validate: async (payload) => payload.tenant === 't1' })],
        },
        {
          method: 'GET',
          path: '/validate-rejects',
          guards: [guardWith({ validate: () => Promise.reject(failure) })],
        },
        {
          method: 'GET',
          path: '/is-revoked-rejects',
          guards: [guardWith({ isRevoked: () => Promise.reject(failure) })],
        },
        {
          method: 'GET',
          path: '/store-rejects',
          guards: [guardWith({ revocation: { isRevoked: () => Promise.reject(failure), revoke: () => {} } })],
        },
        {
          method: 'GET',
          path: '/tenants',
          guards: [
            jwt({
              issuers: async () => {
                tenants.calls++
                if (tenants.mode === 'rejects') throw new Error('tenant database unreachable')
                return { secret: tenantSecret }
              },
              audience: AUDIENCE,
            }),
          ],
        },
        { method: 'GET', path: '/odd-member', guards: [anyOf(oddMember, guardWith({}))] },
      ],
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('refuses a token whose asynchronous validate resolves false', async () => {
    expect((await send(`${server.url}/validate-async`, bearer(await token({ tenant: 't1' })))).status).toBe(
      200,
    )
    const before = events.length
    expectInvalidToken(await send(`${server.url}/validate-async`, bearer(await token({ tenant: 't2' }))))
    expect(events.slice(before).find((e) => e.type === 'auth.failure')?.reason).toBe('rejected_by_validate')
  })

  it('answers the usual 401 and emits auth.error when validate rejects', async () => {
    const before = events.length
    const value = await token()
    for (let i = 0; i < 2; i++)
      expectInvalidToken(await send(`${server.url}/validate-rejects`, bearer(value)))
    const errors = events.slice(before).filter((e) => e.type === 'auth.error')
    expect(errors).toMatchObject([{ callback: 'validate' }, { callback: 'validate' }])
    expect(errors[0]!.error).toBe(failure)
    expect(unexpected).toEqual([])
  })

  it('answers 503 auth.unavailable while isRevoked or a revocation store rejects', async () => {
    for (const [path, callback] of [
      ['/is-revoked-rejects', 'isRevoked'],
      ['/store-rejects', 'revocation.isRevoked'],
    ]) {
      const before = events.length
      expectUnavailable(await send(server.url + path, bearer(await token())))
      const emitted = events.slice(before)
      expect(emitted.find((e) => e.type === 'auth.error')).toMatchObject({
        code: 'auth.unavailable',
        callback,
      })
      expect(emitted.find((e) => e.type === 'server.error')?.error).toBe(failure)
      expect(emitted.filter((e) => e.type === 'auth.success' || e.type === 'auth.failure')).toEqual([])
    }
    expect(unexpected).toEqual([])
  })

  it('answers 503 while the issuer resolver rejects, then asks it again and recovers', async () => {
    tenants.mode = 'rejects'
    const calls = tenants.calls
    const value = await token({ iss: TENANT }, tenantSecret)
    expectUnavailable(await send(`${server.url}/tenants`, bearer(value)))
    expectUnavailable(await send(`${server.url}/tenants`, bearer(value)))
    tenants.mode = 'up'
    const up = await send(`${server.url}/tenants`, bearer(value))
    expect([up.status, up.json.auth?.claims?.iss]).toEqual([200, TENANT])
    expect(tenants.calls).toBe(calls + 3)
    expect(unexpected).toEqual([])
  })

  it('answers 401, never a 5xx, when a member of anyOf() cannot tell whether its credential was sent', async () => {
    const before = events.length
    const answer = await send(`${server.url}/odd-member`, bearer(await token()))
    expect([answer.status, answer.json.code]).toEqual([401, 'auth.missing_credentials'])
    expect(events.slice(before).find((e) => e.type === 'auth.error')?.callback).toBe('session.hasCredential')
    expect(unexpected).toEqual([])
  })
})
