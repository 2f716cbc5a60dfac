import { crc32 } from 'node:zlib'
import { type ApiKeyRecord, anyOf, apiKey, type CredentialGuard, generateApiKey } from '@apiward/auth'
import { defineGuard, type SecurityEvent, SecurityEventBus, type SecurityRequest } from '@apiward/core'
import { Forbidden, Unauthorized } from '@apiward/errors'
import { afterAll, describe, expect, it } from 'vitest'
import { type Answer, type SendOptions, send } from '../conformance/client.js'
import type { AppSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const live = generateApiKey({ prefix: 'ak_live' })
const expired = generateApiKey({ prefix: 'ak_live' })
const disabled = generateApiKey({ prefix: 'ak_live' })
const unknown = generateApiKey({ prefix: 'ak_live' })
const foreign = generateApiKey({ prefix: 'ak_test' })

/** `live`'s id with another secret and a valid checksum: only the hash comparison can refuse it. */
const wrongSecret = (() => {
  const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
  const body = `ak_live_${live.id}_${'Z'.repeat(32)}`
  let n = crc32(body)
  let checksum = ''
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[n % 62] + checksum
    n = Math.floor(n / 62)
  }
  return body + checksum
})()

const records = new Map<string, ApiKeyRecord>([
  [
    live.id,
    { hash: live.hash, owner: 'billing-service', scopes: ['invoices:read'], claims: { tier: 'gold' } },
  ],
  [expired.id, { hash: expired.hash, owner: 'old-service', expiresAt: new Date(Date.now() - 60_000) }],
  [disabled.id, { hash: disabled.hash, owner: 'suspended-service', disabled: true }],
  [foreign.id, { hash: foreign.hash, owner: 'test-service' }],
])

/** A store that answers after a delay, as a database would. */
function slowLookup(ms: number) {
  const asked: string[] = []
  const lookup = (id: string) => {
    asked.push(id)
    return new Promise<ApiKeyRecord | undefined>((resolve) => setTimeout(() => resolve(records.get(id)), ms))
  }
  return Object.assign(lookup, { asked })
}

/** A store whose availability the test controls, as a database that goes down and comes back. */
function flakyLookup() {
  const state = {
    mode: 'up' as 'up' | 'throws' | 'rejects' | 'denies',
    calls: 0,
    failure: new Error('connect ECONNREFUSED 10.9.8.7:5432 (db-primary.internal)'),
  }
  const lookup = (id: string) => {
    state.calls++
    if (state.mode === 'throws') throw state.failure
    if (state.mode === 'denies') throw new Forbidden({ code: 'tenant.suspended' })
    return Promise.resolve().then(() => {
      if (state.mode === 'rejects') throw state.failure
      return records.get(id)
    })
  }
  return Object.assign(lookup, { state })
}

/** A lookup that answers with a bare thenable, as some database clients do: its `then` returns nothing. */
const thenableLookup = (id: string) => ({
  // biome-ignore lint/suspicious/noThenProperty: the point is a bare thenable
  then(resolve: (record: ApiKeyRecord | undefined) => void) {
    setTimeout(() => resolve(records.get(id)), 10)
  },
})

/** A credential guard over `X-Token`: `good` authenticates `token-user`, anything else is a 401. */
const tokenGuard: CredentialGuard = Object.assign(
  defineGuard(
    (ctx) => {
      if (ctx.req.header('x-token') !== 'good') {
        throw new Unauthorized({
          code: 'auth.invalid_token',
          headers: { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' },
        })
      }
      ctx.principal = { id: 'token-user', kind: 'user', scopes: [], roles: [], claims: {}, credential: 'jwt' }
    },
    { guardName: 'token', needsBody: false },
  ),
  {
    hasCredential: (req: SecurityRequest) => req.header('x-token') !== undefined,
    challenge: 'Bearer realm="api"',
  },
)

const key = (value: string): SendOptions => ({ headers: [['X-API-Key', value]] })

/** Headers that legitimately differ between two answers: the date and the request id. */
function comparable(answer: Answer) {
  const { date: _date, 'x-request-id': _id, ...headers } = answer.headers
  const { requestId, ...body } = answer.json ?? {}
  return { status: answer.status, headers, body, hasRequestId: typeof requestId === 'string' }
}

describe.each(harnesses)('apiKey() and anyOf() through $name', (harness) => {
  const servers: RunningServer[] = []
  const events: SecurityEvent[] = []
  const unexpected: unknown[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const start = async (spec: AppSpec) => {
    const server = await harness.start({
      events: bus,
      onUnexpectedError: (err) => unexpected.push(err),
      ...spec,
    })
    servers.push(server)
    return server.url
  }
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  const slow = slowLookup(25)
  const keys = apiKey({ prefix: 'ak_live', lookup: slow })
  const flaky = flakyLookup()
  const flakyKeys = apiKey({ prefix: 'ak_live', lookup: flaky })
  const urls = (async () =>
    start({
      routes: [
        {
          method: 'GET',
          path: '/static',
          guards: [apiKey({ prefix: 'ak_live', keys: [{ id: live.id, ...records.get(live.id)! }] })],
        },
        { method: 'GET', path: '/slow', guards: [keys] },
        { method: 'POST', path: '/slow', guards: [keys] },
        { method: 'GET', path: '/either', guards: [anyOf(keys, tokenGuard)] },
        { method: 'GET', path: '/token-first', guards: [anyOf(tokenGuard, keys)] },
        {
          method: 'GET',
          path: '/query',
          guards: [apiKey({ prefix: 'ak_live', lookup: slow, dangerouslyAllowQueryParameter: 'api_key' })],
        },
        {
          method: 'GET',
          path: '/optional',
          guards: [apiKey({ prefix: 'ak_live', lookup: slow, required: false })],
        },
        { method: 'GET', path: '/flaky', guards: [flakyKeys] },
        {
          method: 'GET',
          path: '/flaky-cached',
          guards: [apiKey({ prefix: 'ak_live', lookup: flaky, cache: { ttl: 60 } })],
        },
        { method: 'GET', path: '/flaky-either', guards: [anyOf(tokenGuard, flakyKeys)] },
        {
          method: 'GET',
          path: '/thenable',
          guards: [apiKey({ prefix: 'ak_live', lookup: thenableLookup as never })],
        },
      ],
    }))()

  it('lets a valid key through with its service principal, from a static list and a slow store', async () => {
    const url = await urls
    for (const path of ['/static', '/slow']) {
      const answer = await send(url + path, key(live.key))
      expect(answer.status).toBe(200)
      expect(answer.json.auth).toEqual({
        id: 'billing-service',
        kind: 'service',
        scopes: ['invoices:read'],
        roles: [],
        claims: { tier: 'gold', api_key_id: live.id },
        credential: 'api_key',
      })
    }
  })

  it('answers every wrong key with one identical 401, whatever the reason', async () => {
    const url = await urls
    const wrong = [
      unknown.key,
      wrongSecret,
      expired.key,
      disabled.key,
      foreign.key,
      `${live.key.slice(0, -1)}${live.key.endsWith('A') ? 'B' : 'A'}`,
      live.key.slice(0, 20),
      'not a key at all',
      '',
      `ak_live_${'x'.repeat(7000)}`,
    ]
    for (const path of ['/slow', '/static']) {
      const before = events.length
      const answers = []
      for (const value of wrong) answers.push(comparable(await send(url + path, key(value))))
      expect(answers[0]).toMatchObject({
        status: 401,
        body: { status: 401, code: 'auth.invalid_api_key', detail: 'The API key is invalid.' },
        hasRequestId: true,
      })
      expect(answers[0]!.headers['www-authenticate']).toBe('ApiKey header="X-API-Key"')
      expect(String(answers[0]!.headers['content-type'])).toMatch(/^application\/problem\+json/)
      for (const answer of answers) expect(answer).toEqual(answers[0])
      if (path === '/slow') {
        const reasons = events
          .slice(before)
          .filter((e) => e.type === 'auth.failure')
          .map((e) => e.reason)
        expect(reasons).toEqual([
          'unknown_key',
          'wrong_secret',
          'expired',
          'disabled',
          'unknown_prefix',
          'bad_checksum',
          'malformed',
          'malformed',
          'malformed',
          'too_long',
        ])
      }
    }
  })

  it('asks the store only about well-formed keys of its own prefix', async () => {
    const url = await urls
    slow.asked.length = 0
    for (const value of [foreign.key, 'garbage', `${live.key}x`, `ak_live_${'x'.repeat(300)}`]) {
      expect((await send(`${url}/slow`, key(value))).status).toBe(401)
    }
    expect(slow.asked).toEqual([])
  })

  it('refuses a missing key with 401 auth.missing_credentials and lets it pass when not required', async () => {
    const url = await urls
    const missing = await send(`${url}/slow`)
    expect(missing.status).toBe(401)
    expect(missing.json.code).toBe('auth.missing_credentials')
    expect(missing.headers['www-authenticate']).toBe('ApiKey header="X-API-Key"')
    const anonymous = await send(`${url}/optional`)
    expect([anonymous.status, anonymous.json.auth]).toEqual([200, null])
    expect((await send(`${url}/optional`, key('nope'))).json.code).toBe('auth.invalid_api_key')
  })

  it('serves many concurrent requests against the slow store', async () => {
    const url = await urls
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send(`${url}/slow`, key(i % 2 === 0 ? live.key : wrongSecret))),
    )
    expect(answers.map((a) => a.status)).toEqual(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 200 : 401)),
    )
  })

  it('refuses a key sent twice with 400 auth.invalid_request', async () => {
    const url = await urls
    const twice = await send(`${url}/slow`, {
      headers: [
        ['X-API-Key', live.key],
        ['X-API-Key', live.key],
      ],
    })
    expect([twice.status, twice.json.code]).toEqual([400, 'auth.invalid_request'])
    const both = await send(`${url}/query?api_key=${live.key}`, key(live.key))
    expect([both.status, both.json.code]).toEqual([400, 'auth.invalid_request'])
  })

  it('reads the query parameter only where it is dangerously allowed', async () => {
    const url = await urls
    expect((await send(`${url}/query?api_key=${live.key}`)).json.auth.id).toBe('billing-service')
    expect((await send(`${url}/slow?api_key=${live.key}`)).json.code).toBe('auth.missing_credentials')
    const repeated = await send(`${url}/query?api_key=${live.key}&api_key=${live.key}`)
    expect([repeated.status, repeated.json.code]).toEqual([400, 'auth.invalid_request'])
  })

  it('lets anyOf() accept either credential', async () => {
    const url = await urls
    expect((await send(`${url}/either`, key(live.key))).json.auth.credential).toBe('api_key')
    expect((await send(`${url}/either`, { headers: { 'X-Token': 'good' } })).json.auth.id).toBe('token-user')
  })

  it('never lets a present but invalid credential fall through to another one in anyOf()', async () => {
    const url = await urls
    const badKey = await send(`${url}/either`, {
      headers: [
        ['X-API-Key', wrongSecret],
        ['X-Token', 'good'],
      ],
    })
    expect([badKey.status, badKey.json.code]).toEqual([401, 'auth.invalid_api_key'])
    const badToken = await send(`${url}/token-first`, {
      headers: [
        ['X-Token', 'forged'],
        ['X-API-Key', live.key],
      ],
    })
    expect([badToken.status, badToken.json.code]).toEqual([401, 'auth.invalid_token'])
    const emptyKey = await send(`${url}/either`, {
      headers: [
        ['X-API-Key', ''],
        ['X-Token', 'good'],
      ],
    })
    expect([emptyKey.status, emptyKey.json.code]).toEqual([401, 'auth.invalid_api_key'])
  })

  it('asks for any of the credentials in anyOf() when none is sent', async () => {
    const url = await urls
    const none = await send(`${url}/either`, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } })
    expect([none.status, none.json.code]).toEqual([401, 'auth.missing_credentials'])
    expect(none.headers['www-authenticate']).toBe('ApiKey header="X-API-Key", Bearer realm="api"')
  })

  it('never answers a garbage key with a 5xx', async () => {
    const url = await urls
    const garbage = [
      'x'.repeat(16_000),
      `ak_live_${'a'.repeat(250)}`,
      Buffer.from('ak_live_ключ_🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑', 'utf8').toString('latin1'),
      '\u00ff\u00fe\u0080\u0081',
      'ak_live\tabc\t123',
      '_'.repeat(200),
      'ak_live__',
      '%00%0d%0a',
      '{"$ne":null}',
      '../../etc/passwd',
      'null',
      ' ',
    ]
    const answers = await Promise.all(
      garbage.flatMap((value) => [
        send(`${url}/slow`, key(value)),
        send(`${url}/static`, key(value)),
        send(`${url}/either`, key(value)),
        send(`${url}/slow`, { method: 'POST', ...key(value), body: '{}' }),
      ]),
    )
    for (const answer of answers) {
      expect(answer.status).toBe(401)
      expect(answer.json.code).toBe('auth.invalid_api_key')
    }
  })

  it('answers 503 auth.unavailable while the lookup throws or rejects, and recovers with the store', async () => {
    const url = await urls
    for (const mode of ['throws', 'rejects'] as const) {
      flaky.state.mode = mode
      for (const path of ['/flaky', '/flaky-cached', '/flaky-either']) {
        const before = events.length
        const down = await send(url + path, key(live.key))
        expect(down.status, `${mode} ${path}`).toBe(503)
        expect(String(down.headers['content-type'])).toMatch(/^application\/problem\+json/)
        expect(down.headers['retry-after']).toBe('1')
        expect(down.headers['www-authenticate']).toBeUndefined()
        expect(down.json).toMatchObject({
          status: 503,
          code: 'auth.unavailable',
          detail: 'The API key cannot be checked right now. Retry later.',
        })
        expect(down.text).not.toMatch(/ECONNREFUSED|5432|db-primary|internal|stack|Error|\bat /)
        const emitted = events.slice(before)
        const failure = emitted.find((e) => e.type === 'auth.error')
        expect(failure).toMatchObject({
          severity: 'error',
          code: 'auth.unavailable',
          credential: 'api_key',
          keyId: live.id,
        })
        expect(failure!.error).toBe(flaky.state.failure)
        expect(emitted.find((e) => e.type === 'server.error')?.error).toBe(flaky.state.failure)
        expect(emitted.filter((e) => e.type === 'auth.failure' || e.type === 'auth.success')).toEqual([])
      }
    }
    expect(unexpected).toEqual([])
    flaky.state.mode = 'up'
    for (const path of ['/flaky', '/flaky-cached', '/flaky-either']) {
      const up = await send(url + path, key(live.key))
      expect([up.status, up.json.auth?.id], path).toEqual([200, 'billing-service'])
    }
  })

  it('asks the store again after a failed lookup instead of remembering the failure', async () => {
    const url = await urls
    flaky.state.mode = 'rejects'
    expect((await send(`${url}/flaky-cached`, key(unknown.key))).status).toBe(503)
    flaky.state.mode = 'up'
    const calls = flaky.state.calls
    const answer = await send(`${url}/flaky-cached`, key(unknown.key))
    expect([answer.status, answer.json.code]).toEqual([401, 'auth.invalid_api_key'])
    expect(flaky.state.calls).toBe(calls + 1)
    expect((await send(`${url}/flaky-cached`, key(unknown.key))).status).toBe(401)
    expect(flaky.state.calls).toBe(calls + 1)
  })

  it('waits for a lookup that answers with a bare thenable before it allows or refuses', async () => {
    const url = await urls
    const good = await send(`${url}/thenable`, key(live.key))
    expect([good.status, good.json.auth?.id]).toEqual([200, 'billing-service'])
    for (const value of [wrongSecret, unknown.key, disabled.key]) {
      const bad = await send(`${url}/thenable`, key(value))
      expect([bad.status, bad.json.code]).toEqual([401, 'auth.invalid_api_key'])
    }
    expect(unexpected).toEqual([])
  })

  it('answers an ApiError thrown by the lookup as it is', async () => {
    const url = await urls
    flaky.state.mode = 'denies'
    const denied = await send(`${url}/flaky`, key(live.key))
    flaky.state.mode = 'up'
    expect([denied.status, denied.json.code]).toEqual([403, 'tenant.suspended'])
  })
})
