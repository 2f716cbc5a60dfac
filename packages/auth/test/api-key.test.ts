import { crc32 } from 'node:zlib'
import { type ApiKeyRecord, apiKey, generateApiKey, hashApiKey, isCredentialGuard } from '@apiward/auth'
import type { SecurityEvent } from '@apiward/core'

import { afterEach, describe, expect, it, vi } from 'vitest'
import { denial, type RequestSpec, context as testContext } from './support.js'

const context = (spec: RequestSpec = {}) => testContext({ ip: '203.0.113.7', ...spec })

const withKey = (key: string): RequestSpec => ({ headers: [['X-API-Key', key]] })

const live = generateApiKey({ prefix: 'ak_live' })
const other = generateApiKey({ prefix: 'ak_live' })
const test = generateApiKey({ prefix: 'ak_test' })
const expired = generateApiKey({ prefix: 'ak_live' })
const disabled = generateApiKey({ prefix: 'ak_live' })

const staticGuard = apiKey({
  prefix: 'ak_live',
  keys: [
    {
      id: live.id,
      hash: live.hash,
      owner: 'billing',
      scopes: ['invoices:read'],
      roles: ['system'],
      claims: { tier: 'gold' },
    },
    { id: expired.id, hash: expired.hash, expiresAt: Date.now() - 1000 },
    { id: disabled.id, hash: disabled.hash, disabled: true },
    { id: test.id, hash: test.hash },
  ],
})

/** A well-formed key as the documented format defines it: CRC32 of the rest, 6 base62 characters. */
function forge(prefix: string, id: string, secret: string): string {
  const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
  const body = `${prefix}_${id}_${secret}`
  let n = crc32(body)
  let checksum = ''
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[n % 62] + checksum
    n = Math.floor(n / 62)
  }
  return body + checksum
}

/** `live`'s id with another secret, checksum valid. */
const wrongSecret = forge('ak_live', live.id, 'x'.repeat(32))

describe('apiKey() with a static list', () => {
  it('authenticates a valid key synchronously as a service principal', () => {
    const ctx = context(withKey(live.key))
    expect(staticGuard(ctx)).toBeUndefined()
    expect(ctx.principal).toEqual({
      id: 'billing',
      kind: 'service',
      scopes: ['invoices:read'],
      roles: ['system'],
      claims: { tier: 'gold', api_key_id: live.id },
      credential: 'api_key',
    })
    expect(ctx.seen.map((e) => [e.type, e.keyId, e.principal])).toEqual([
      ['auth.success', live.id, 'billing'],
    ])
  })

  it('accepts keys built to the documented format by other tools, not only generated ones', () => {
    expect(forge('ak_live', live.id, live.key.split('_')[3]!.slice(0, 32))).toBe(live.key)
    const custom = forge('ak_live', 'legacy42', 'S3cr3t'.repeat(8))
    const guard = apiKey({ prefix: 'ak_live', keys: [{ id: 'legacy42', hash: hashApiKey(custom) }] })
    const ctx = context(withKey(custom))
    guard(ctx)
    expect(ctx.principal?.id).toBe('legacy42')
  })

  it('names the principal after the key id when the record has no owner', () => {
    const made = generateApiKey({ prefix: 'ak' })
    const guard = apiKey({ prefix: 'ak', keys: [{ id: made.id, hash: made.hash, kind: 'user' }] })
    const ctx = context(withKey(made.key))
    guard(ctx)
    expect(ctx.principal).toMatchObject({ id: made.id, kind: 'user', scopes: [], roles: [] })
  })

  it('shares a frozen principal between requests so that no request can alter another', () => {
    const a = context(withKey(live.key))
    const b = context(withKey(live.key))
    staticGuard(a)
    staticGuard(b)
    expect(Object.isFrozen(a.principal)).toBe(true)
    expect(Object.isFrozen(a.principal!.scopes)).toBe(true)
    expect(() => (a.principal!.scopes as string[]).push('admin')).toThrow(TypeError)
    expect(b.principal!.scopes).toEqual(['invoices:read'])
  })

  it('answers every wrong key with the same 401 and tells the reason only to the event', async () => {
    const cases: Array<[string, string]> = [
      [wrongSecret, 'wrong_secret'],
      [other.key, 'unknown_key'],
      [test.key, 'unknown_prefix'],
      [expired.key, 'expired'],
      [disabled.key, 'disabled'],
      [`${live.key.slice(0, -1)}${live.key.endsWith('0') ? '1' : '0'}`, 'bad_checksum'],
      ['not-a-key', 'malformed'],
      ['', 'malformed'],
      [`ak_live_${'a'.repeat(5000)}`, 'too_long'],
    ]
    const shapes = new Set<string>()
    for (const [key, reason] of cases) {
      const ctx = context(withKey(key))
      const err = await denial(staticGuard, ctx)
      shapes.add(JSON.stringify([err.status, err.code, err.title, err.detail, err.headers, err.errors]))
      expect(ctx.principal).toBeUndefined()
      expect(ctx.seen).toHaveLength(1)
      expect(ctx.seen[0]).toMatchObject({
        type: 'auth.failure',
        code: 'auth.invalid_api_key',
        reason,
        severity: 'warn',
      })
    }
    expect([...shapes]).toEqual([
      JSON.stringify([
        401,
        'auth.invalid_api_key',
        'Unauthorized',
        'The API key is invalid.',
        { 'WWW-Authenticate': 'ApiKey header="X-API-Key"' },
        undefined,
      ]),
    ])
  })

  it('never puts the secret part of a key in an event', async () => {
    const seen: SecurityEvent[] = []
    for (const key of [live.key, wrongSecret, expired.key]) {
      const ctx = context(withKey(key))
      await denial(staticGuard, ctx).catch(() => undefined)
      seen.push(...ctx.seen)
      expect(JSON.stringify(ctx.seen)).not.toContain(key.split('_')[3]!.slice(0, 16))
    }
    expect(seen.map((e) => e.type)).toEqual(['auth.success', 'auth.failure', 'auth.failure'])
  })

  it('refuses a missing key with 401 auth.missing_credentials and a challenge', async () => {
    const err = await denial(staticGuard, context())
    expect(err.status).toBe(401)
    expect(err.code).toBe('auth.missing_credentials')
    expect(err.detail).toBe('An API key is required in the X-API-Key header.')
    expect(err.headers).toEqual({ 'WWW-Authenticate': 'ApiKey header="X-API-Key"' })
  })

  it('lets an anonymous request through when not required, but still refuses a wrong key', async () => {
    const guard = apiKey({ prefix: 'ak_live', keys: [{ id: live.id, hash: live.hash }], required: false })
    const anonymous = context()
    expect(guard(anonymous)).toBeUndefined()
    expect(anonymous.principal).toBeUndefined()
    expect((await denial(guard, context(withKey(other.key)))).code).toBe('auth.invalid_api_key')
    expect((await denial(guard, context(withKey('')))).code).toBe('auth.invalid_api_key')
  })

  it('refuses two key headers with 400 auth.invalid_request', async () => {
    const err = await denial(
      staticGuard,
      context({
        headers: [
          ['X-API-Key', live.key],
          ['X-API-Key', live.key],
        ],
      }),
    )
    expect([err.status, err.code]).toEqual([400, 'auth.invalid_request'])
  })

  it('ignores the query string unless a parameter is dangerously allowed', async () => {
    expect((await denial(staticGuard, context({ query: { api_key: live.key } }))).code).toBe(
      'auth.missing_credentials',
    )
    const guard = apiKey({
      prefix: 'ak_live',
      keys: [{ id: live.id, hash: live.hash }],
      dangerouslyAllowQueryParameter: 'api_key',
    })
    const ctx = context({ query: { api_key: live.key } })
    guard(ctx)
    expect(ctx.principal?.id).toBe(live.id)
    const both = await denial(guard, context({ ...withKey(live.key), query: { api_key: live.key } }))
    expect([both.status, both.code]).toEqual([400, 'auth.invalid_request'])
    const repeated = await denial(guard, context({ query: { api_key: [live.key, live.key] } }))
    expect([repeated.status, repeated.code]).toEqual([400, 'auth.invalid_request'])
  })

  it('reads another header when told to and puts the realm in the challenge', async () => {
    const guard = apiKey({
      prefix: 'ak_live',
      keys: [{ id: live.id, hash: live.hash }],
      header: 'Api-Key',
      realm: 'billing "v2"',
    })
    expect(guard.challenge).toBe('ApiKey realm="billing \\"v2\\"", header="Api-Key"')
    const ctx = context({ headers: [['api-key', live.key]] })
    guard(ctx)
    expect(ctx.principal?.id).toBe(live.id)
    expect((await denial(guard, context(withKey(live.key)))).code).toBe('auth.missing_credentials')
  })

  it('is a credential guard that sees any value in its header, valid or not', () => {
    expect(isCredentialGuard(staticGuard)).toBe(true)
    expect(staticGuard.guardName).toBe('apiKey')
    expect(staticGuard.needsBody).toBe(false)
    expect(staticGuard.hasCredential(context(withKey('garbage')).req)).toBe(true)
    expect(staticGuard.hasCredential(context(withKey('')).req)).toBe(true)
    expect(staticGuard.hasCredential(context({ query: { api_key: live.key } }).req)).toBe(false)
    expect(
      staticGuard.hasCredential(context({ headers: [['Authorization', `Bearer ${live.key}`]] }).req),
    ).toBe(false)
  })
})

describe('apiKey() with a lookup', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  const record: ApiKeyRecord = { hash: live.hash, owner: 'billing', scopes: ['invoices:read'] }

  it('stays synchronous with a synchronous lookup', () => {
    const seen: string[] = []
    const guard = apiKey({
      prefix: 'ak_live',
      lookup: (id) => {
        seen.push(id)
        return id === live.id ? record : undefined
      },
    })
    const ctx = context(withKey(live.key))
    expect(guard(ctx)).toBeUndefined()
    expect(ctx.principal?.id).toBe('billing')
    expect(seen).toEqual([live.id])
  })

  it('waits for an asynchronous lookup and passes it the context', async () => {
    const guard = apiKey({
      prefix: 'ak_live',
      lookup: async (id, ctx) => {
        await new Promise((r) => setTimeout(r, 10))
        return id === live.id && ctx.req.ip === '203.0.113.7' ? record : null
      },
    })
    const ctx = context(withKey(live.key))
    const result = guard(ctx)
    expect(result).toBeInstanceOf(Promise)
    await result
    expect(ctx.principal).toMatchObject({ id: 'billing', scopes: ['invoices:read'], credential: 'api_key' })
    const err = await denial(guard, context(withKey(other.key)))
    expect(err.code).toBe('auth.invalid_api_key')
  })

  it('takes records as a database returns them, with nulls and a Date', async () => {
    const guard = apiKey({
      prefix: 'ak_live',
      lookup: async () => ({
        hash: live.hash.slice('sha256:'.length).toUpperCase(),
        owner: null,
        kind: null,
        scopes: null,
        roles: null,
        claims: null,
        expiresAt: new Date(Date.now() + 60_000),
        disabled: null,
      }),
    })
    const ctx = context(withKey(live.key))
    await guard(ctx)
    expect(ctx.principal).toEqual({
      id: live.id,
      kind: 'service',
      scopes: [],
      roles: [],
      claims: { api_key_id: live.id },
      credential: 'api_key',
    })
  })

  it('refuses an expired or disabled record only after the secret matched', async () => {
    const records: Record<string, ApiKeyRecord> = {
      [live.id]: { hash: live.hash, expiresAt: Date.now() - 1 },
      [disabled.id]: { hash: disabled.hash, disabled: true },
    }
    const guard = apiKey({ prefix: 'ak_live', lookup: async (id) => records[id] })
    const reasons = []
    for (const key of [live.key, disabled.key, wrongSecret]) {
      const ctx = context(withKey(key))
      expect((await denial(guard, ctx)).code).toBe('auth.invalid_api_key')
      reasons.push(ctx.seen[0]?.reason)
    }
    expect(reasons).toEqual(['expired', 'disabled', 'wrong_secret'])
  })

  it('does not consult the lookup for a malformed key, a bad checksum or a foreign prefix', async () => {
    const lookup = vi.fn(async () => record)
    const guard = apiKey({ prefix: 'ak_live', lookup })
    for (const key of ['x', test.key, `${live.key.slice(0, -2)}zz`, 'a'.repeat(100_000)]) {
      await denial(guard, context(withKey(key)))
    }
    expect(lookup).not.toHaveBeenCalled()
  })

  it('answers a failing lookup with a 503 that keeps the error as its cause, not as a denial', async () => {
    const down = new Error('database down')
    const guard = apiKey({
      prefix: 'ak_live',
      lookup: async () => {
        throw down
      },
    })
    const error = await Promise.resolve(guard(context(withKey(live.key)))).then(
      () => undefined,
      (err: unknown) => err as { status: number; code: string; cause: unknown },
    )
    expect(error?.status).toBe(503)
    expect(error?.code).toBe('auth.unavailable')
    expect(error?.cause).toBe(down)
  })

  it('treats a record holding the key instead of its hash as a server mistake', async () => {
    const guard = apiKey({ prefix: 'ak_live', lookup: () => ({ hash: live.key }) })
    expect(() => guard(context(withKey(live.key)))).toThrow(/hash holds an API key; store hashApiKey\(key\)/)
  })

  it('remembers answers for the cache ttl, unknown ids included', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const lookup = vi.fn(async (id: string) => (id === live.id ? record : undefined))
    const guard = apiKey({ prefix: 'ak_live', lookup, cache: { ttl: 30 } })
    await guard(context(withKey(live.key)))
    const hit = context(withKey(live.key))
    expect(guard(hit)).toBeUndefined()
    expect(hit.principal?.id).toBe('billing')
    await denial(guard, context(withKey(other.key)))
    await denial(guard, context(withKey(other.key)))
    expect((await denial(guard, context(withKey(wrongSecret)))).code).toBe('auth.invalid_api_key')
    expect(lookup.mock.calls.map((c) => c[0])).toEqual([live.id, other.id])
    vi.advanceTimersByTime(30_000)
    await guard(context(withKey(live.key)))
    expect(lookup).toHaveBeenCalledTimes(3)
  })

  it('still checks the expiry of a cached record on every request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const lookup = vi.fn(async () => ({ hash: live.hash, expiresAt: Date.now() + 5000 }))
    const guard = apiKey({ prefix: 'ak_live', lookup, cache: { ttl: 60 } })
    await guard(context(withKey(live.key)))
    vi.advanceTimersByTime(5000)
    const ctx = context(withKey(live.key))
    expect((await denial(guard, ctx)).code).toBe('auth.invalid_api_key')
    expect(ctx.seen[0]?.reason).toBe('expired')
    expect(lookup).toHaveBeenCalledTimes(1)
  })

  it('keeps at most max ids in the cache, forgetting the least recently used', async () => {
    const keys = [live, other, expired]
    const lookup = vi.fn(async (id: string) => {
      const made = keys.find((k) => k.id === id)
      return made && { hash: made.hash }
    })
    const guard = apiKey({ prefix: 'ak_live', lookup, cache: { ttl: 60, max: 2 } })
    for (const made of [live, other, live, expired, live, other]) await guard(context(withKey(made.key)))
    expect(lookup.mock.calls.map((c) => c[0])).toEqual([live.id, other.id, expired.id, other.id])
  })
})

describe('apiKey() options', () => {
  const keys = [{ id: live.id, hash: live.hash }]
  const cases: Array<[string, unknown, RegExp]> = [
    ['no options', undefined, /options must be an object/],
    ['no prefix', { keys }, /prefix must be the prefix of your keys/],
    ['an upper-case prefix', { prefix: 'AK', keys }, /prefix must be/],
    ['an empty prefix list', { prefix: [], keys }, /prefix must be/],
    ['neither keys nor lookup', { prefix: 'ak_live' }, /exactly one of keys .* or lookup/],
    ['both keys and lookup', { prefix: 'ak_live', keys, lookup: () => undefined }, /exactly one of keys/],
    ['an empty key list', { prefix: 'ak_live', keys: [] }, /keys must be a non-empty array/],
    ['a lookup that is not a function', { prefix: 'ak_live', lookup: 'db' }, /lookup must be a function/],
    ['a key without id', { prefix: 'ak_live', keys: [{ hash: live.hash }] }, /keys\[0\]\.id must be/],
    ['a key listed twice', { prefix: 'ak_live', keys: [...keys, ...keys] }, /keys\[1\]\.id .* listed twice/],
    [
      'a key stored in the clear',
      { prefix: 'ak_live', keys: [{ id: live.id, hash: live.key }] },
      /keys\[0\]: hash holds an API key; store hashApiKey\(key\)/,
    ],
    [
      'a hash of another kind',
      { prefix: 'ak_live', keys: [{ id: live.id, hash: 'md5:abc' }] },
      /hash must be/,
    ],
    [
      'scopes as a string',
      { prefix: 'ak_live', keys: [{ ...keys[0], scopes: 'a b' }] },
      /scopes must be an array/,
    ],
    [
      'an invalid expiry',
      { prefix: 'ak_live', keys: [{ ...keys[0], expiresAt: 'soon' }] },
      /expiresAt must be/,
    ],
    [
      'the Authorization header',
      { prefix: 'ak_live', keys, header: 'Authorization' },
      /use a header of its own/,
    ],
    ['a header name with a space', { prefix: 'ak_live', keys, header: 'X API Key' }, /header must be/],
    [
      'a query parameter given as true',
      { prefix: 'ak_live', keys, dangerouslyAllowQueryParameter: true },
      /dangerouslyAllowQueryParameter must be the name/,
    ],
    [
      'a query option of another library',
      { prefix: 'ak_live', keys, query: 'key' },
      /did you mean "dangerouslyAllow/,
    ],
    [
      'optional instead of required',
      { prefix: 'ak_live', keys, optional: true },
      /did you mean "required: false"/,
    ],
    [
      'a cache for static keys',
      { prefix: 'ak_live', keys, cache: { ttl: 10 } },
      /cache only applies to lookup/,
    ],
    ['a cache without ttl', { prefix: 'ak_live', lookup: () => null, cache: {} }, /cache\.ttl \(seconds\)/],
    [
      'a cache of zero entries',
      { prefix: 'ak_live', lookup: () => null, cache: { ttl: 1, max: 0 } },
      /cache\.max/,
    ],
    ['required as a string', { prefix: 'ak_live', keys, required: 'no' }, /required must be true or false/],
    ['a realm with a newline', { prefix: 'ak_live', keys, realm: 'a\nb' }, /realm must be/],
  ]

  it.each(cases)('refuses %s at build time with a TypeError that names the fix', (_, options, message) => {
    expect(() => apiKey(options as never)).toThrow(TypeError)
    expect(() => apiKey(options as never)).toThrow(message)
  })

  it('accepts several prefixes', () => {
    const guard = apiKey({
      prefix: ['ak_live', 'ak_test'],
      keys: [{ id: test.id, hash: hashApiKey(test.key) }],
    })
    const ctx = context(withKey(test.key))
    guard(ctx)
    expect(ctx.principal?.id).toBe(test.id)
  })
})
