import { anyOf, apiKey, type CredentialGuard, generateApiKey, jwt } from '@apiward/auth'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { SignJWT } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { type SendOptions, send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { AUDIENCE, ISSUER } from './jwt-support.js'

const secret = 'an-hs256-secret-of-at-least-32-bytes-for-tests'
const live = generateApiKey({ prefix: 'ak_live' })
const unknown = generateApiKey({ prefix: 'ak_live' })

const tokens = () => jwt({ secret, issuer: ISSUER, audience: AUDIENCE })
const keys = () =>
  apiKey({ prefix: 'ak_live', keys: [{ id: live.id, hash: live.hash, owner: 'billing-service' }] })

function token(claims: Record<string, unknown> = {}, key = secret): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(key))
}

const bearer = (value: string): [string, string] => ['Authorization', `Bearer ${value}`]
const apiKeyHeader = (value: string): [string, string] => ['X-API-Key', value]
const withHeaders = (...headers: Array<[string, string]>): SendOptions => ({ headers })

const BOTH_CHALLENGES = 'Bearer realm="api", ApiKey header="X-API-Key"'

describe('anyOf() options, checked at startup', () => {
  const notCredential = Object.assign(() => {}, { guardName: 'plain' }) as unknown as CredentialGuard

  it('keeps accepting guards alone, and takes an options object as the last argument', () => {
    expect(typeof anyOf(tokens(), keys())).toBe('function')
    expect(typeof anyOf(tokens(), keys(), { required: false })).toBe('function')
    expect(typeof anyOf(tokens(), keys(), {})).toBe('function')
    expect(anyOf(tokens(), keys(), { required: false }).guardName).toBe('anyOf(jwt, apiKey)')
  })

  it('refuses an unknown option name with a TypeError that says what to use', () => {
    const options = (value: object) => value as { required?: boolean }
    expect(() => anyOf(tokens(), keys(), options({ optional: true }))).toThrow(TypeError)
    expect(() => anyOf(tokens(), keys(), options({ optional: true }))).toThrow(
      /"optional"; did you mean "required: false"/,
    )
    expect(() => anyOf(tokens(), options({ requried: false }))).toThrow(
      /unknown option "requried"; did you mean "required"\?.*Known options: required/,
    )
    expect(() => anyOf(tokens(), options({ required: false, realm: 'api' }))).toThrow(
      /unknown option "realm"/,
    )
  })

  it('wants required to be a boolean', () => {
    for (const required of ['false', 0, 1, null, 'no']) {
      expect(() => anyOf(tokens(), keys(), { required } as unknown as { required: boolean })).toThrow(
        /anyOf\(\): required must be true or false/,
      )
    }
  })

  it('wants the options last and at least one guard before them', () => {
    const call = anyOf as (...args: unknown[]) => CredentialGuard
    expect(() => call(tokens(), { required: false }, keys())).toThrow(
      /argument 2 is an object.*Options go last/,
    )
    expect(() => call({ required: false })).toThrow(/needs at least one authentication guard/)
    expect(() => call(tokens(), notCredential, { required: false })).toThrow(
      /argument 2 \(plain\) does not authenticate a credential/,
    )
    expect(() => call(tokens(), null)).toThrow(/argument 2 is null, not a guard/)
  })
})

describe.each(harnesses)('anyOf() with required: false through $name', (harness) => {
  const servers: RunningServer[] = []
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  const urls = (async () => {
    const server = await harness.start({
      events: bus,
      routes: [
        { method: 'GET', path: '/optional', guards: [anyOf(tokens(), keys(), { required: false })] },
        { method: 'GET', path: '/required', guards: [anyOf(tokens(), keys())] },
        { method: 'GET', path: '/explicit', guards: [anyOf(tokens(), keys(), { required: true })] },
      ],
    })
    servers.push(server)
    return server.url
  })()

  /** Sends a request and returns the answer with the security events it caused. */
  async function call(path: string, options?: SendOptions) {
    const url = await urls
    const before = events.length
    const answer = await send(url + path, options)
    return { answer, emitted: events.slice(before).map((e) => [e.type, e.code]) }
  }

  it('lets a request without any credential through anonymously, with no failure event', async () => {
    const { answer, emitted } = await call('/optional')
    expect([answer.status, answer.json.auth]).toEqual([200, null])
    expect(answer.headers['www-authenticate']).toBeUndefined()
    expect(emitted).toEqual([])
  })

  it('still refuses a request without credentials when required, by default or explicitly', async () => {
    for (const path of ['/required', '/explicit']) {
      const { answer, emitted } = await call(path)
      expect([answer.status, answer.json.code], path).toEqual([401, 'auth.missing_credentials'])
      expect(answer.headers['www-authenticate']).toBe(BOTH_CHALLENGES)
      expect(emitted).toEqual([['auth.failure', 'auth.missing_credentials']])
    }
  })

  it('authenticates a valid credential of either kind, with its principal', async () => {
    const byKey = await call('/optional', withHeaders(apiKeyHeader(live.key)))
    expect(byKey.answer.status).toBe(200)
    expect(byKey.answer.json.auth).toMatchObject({
      id: 'billing-service',
      kind: 'service',
      credential: 'api_key',
      claims: { api_key_id: live.id },
    })
    const byToken = await call('/optional', withHeaders(bearer(await token())))
    expect(byToken.answer.status).toBe(200)
    expect(byToken.answer.json.auth).toMatchObject({ id: 'alice', credential: 'jwt' })
  })

  it('refuses a present but invalid credential with its own 401, never as anonymous', async () => {
    const wrongKeys = [unknown.key, `${live.key.slice(0, -1)}${live.key.endsWith('A') ? 'B' : 'A'}`, '', 'x']
    for (const value of wrongKeys) {
      const { answer, emitted } = await call('/optional', withHeaders(apiKeyHeader(value)))
      expect([answer.status, answer.json.code], value).toEqual([401, 'auth.invalid_api_key'])
      expect(answer.headers['www-authenticate']).toBe('ApiKey header="X-API-Key"')
      expect(emitted).toEqual([['auth.failure', 'auth.invalid_api_key']])
    }
    const forged = await token({}, 'another-secret-that-is-at-least-32-bytes-long')
    for (const value of [forged, await token({ exp: Math.floor(Date.now() / 1000) - 600 }), 'abc.def.ghi']) {
      const { answer } = await call('/optional', withHeaders(bearer(value)))
      expect([answer.status, answer.json.code]).toEqual([401, 'auth.invalid_token'])
    }
    const forgedWithKey = await call('/optional', withHeaders(bearer(forged), apiKeyHeader(live.key)))
    expect([forgedWithKey.answer.status, forgedWithKey.answer.json.code]).toEqual([401, 'auth.invalid_token'])
    const malformed = await call('/optional', withHeaders(['Authorization', 'Bearer']))
    expect([malformed.answer.status, malformed.answer.json.code]).toEqual([400, 'auth.invalid_request'])
  })
})
