import { generateKeyPairSync } from 'node:crypto'
import { introspection, memoryIntrospectionCache, redisIntrospectionCache } from '@apiward/auth'
import { describe, expect, it } from 'vitest'

const base = {
  issuer: 'https://id.example/',
  clientId: 'notes-api',
  clientAuthentication: { method: 'client_secret_basic', clientSecret: 's3cret' },
  audience: 'https://api.example',
} as const

const build = (extra: Record<string, unknown>) => () => introspection({ ...base, ...extra } as never)

describe('introspection() options', () => {
  it('builds a credential guard with secure defaults from the issuer, client and audience', () => {
    const guard = introspection(base)
    expect(guard.guardName).toBe('introspection')
    expect(guard.challenge).toBe('Bearer realm="api"')
    expect(guard.needsBody).toBe(false)
    expect(typeof guard.hasCredential).toBe('function')
    expect(typeof guard.ready).toBe('function')
  })

  it.each([
    [{ issuer: undefined }, /issuer is the issuer identifier/],
    [{ clientId: '' }, /clientId is this API's client ID/],
    [{ clientAuthentication: undefined }, /clientAuthentication is required \(RFC 7662 section 2.1\)/],
    [
      { clientAuthentication: { method: 'client_secret_jwt', clientSecret: 'x' } },
      /clientAuthentication is \{ method:/,
    ],
    [{ clientAuthentication: { method: 'client_secret_basic' } }, /clientSecret is the client secret/],
    [
      { clientAuthentication: { method: 'client_secret_post', clientSecret: 'x', privateKey: 'k' } },
      /unknown option "clientAuthentication.privateKey"/,
    ],
    [
      { clientAuthentication: { method: 'private_key_jwt', privateKey: 'not a pem' } },
      /privateKey could not be read/,
    ],
    [{ audience: undefined }, /audience is required.*dangerouslyAllowAnyAudience/],
    [{ audience: [] }, /audience is a non-empty string or a list/],
    [
      { introspectionEndpoint: 'http://id.example/introspect' },
      /introspectionEndpoint must use https:.*dangerouslyAllowHttp/,
    ],
    [{ jwksUri: 'https://id.example/jwks' }, /jwksUri verifies signed answers; set jwtResponse: true/],
    [{ jwtResponse: true, jwtResponseAlgorithms: ['HS256'] }, /jwtResponseAlgorithms lists asymmetric/],
    [{ onEndpointFailure: 'fail-open' }, /admitting unchecked tokens is not offered/],
    [{ onEndpointFailure: 'serve-stale', cache: false }, /needs the cache/],
    [{ cache: { ttl: 0 } }, /cache.ttl is a positive number of seconds/],
    [{ cache: { negativeTtl: -1 } }, /cache.negativeTtl/],
    [{ cache: { maxAge: 5 } }, /unknown option "maxAge"/],
    [{ cache: { store: {} } }, /cache.store has get\(key\) and set/],
    [{ cache: { store: memoryIntrospectionCache(), max: 5 } }, /cache.max sizes the default memory store/],
    [{ timeoutMs: 0 }, /timeoutMs is a positive number of milliseconds/],
    [{ retryAfter: Number.NaN }, /retryAfter/],
    [{ clockTolerance: 60 }, /clockTolerance is in seconds, from 0 to 30/],
    [{ tokenLocations: ['cookie'] }, /tokenLocations lists one or more/],
    [{ tokenFormat: 'jwt' }, /tokenFormat is 'any' \(default\) or 'opaque'/],
    [{ maxTokenLength: 10 }, /maxTokenLength is an integer/],
    [{ required: 'no' }, /required is true or false/],
    [{ remoteOptions: { timeoutMs: -5 } }, /remoteOptions.timeoutMs is a positive integer/],
    [
      { remoteOptions: { headers: { 'x-key': 1 } } },
      /remoteOptions.headers maps header names to string values/,
    ],
    [{ validate: true }, /validate is a function/],
    [{ verifyClaims: 'yes' }, /verifyClaims is a function/],
    [{ verifyClaims: () => true, validate: () => true }, /validate is the old name of verifyClaims/],
  ])('refuses %j at startup with a TypeError that names the option', (extra, message) => {
    expect(build(extra)).toThrow(TypeError)
    expect(build(extra)).toThrow(message)
  })

  it.each([
    ['introspectionUrl', /unknown option "introspectionUrl"; did you mean "introspectionEndpoint"\?/],
    [
      'clientSecret',
      /did you mean "clientAuthentication: \{ method: 'client_secret_basic', clientSecret \}"/,
    ],
    ['failOpen', /fail-open is not offered/],
    ['ClientId', /did you mean "clientId"/],
    ['cachettl', /unknown option "cachettl"\. Known options: issuer, clientId/],
  ])('refuses the unknown option %s and says what was meant', (name, message) => {
    expect(build({ [name]: 1 })).toThrow(message)
  })

  it('takes the claims check as verifyClaims, and still as its deprecated name validate, with a warning', async () => {
    const { hasWarned, resetWarnings } = await import('@apiward/core')
    resetWarnings()
    expect(build({ verifyClaims: () => true })).not.toThrow()
    expect(hasWarned('APIWARD_INTROSPECTION_VALIDATE_RENAMED')).toBe(false)
    expect(build({ validate: () => true })).not.toThrow()
    expect(hasWarned('APIWARD_INTROSPECTION_VALIDATE_RENAMED')).toBe(true)
  })

  it('accepts plain HTTP on loopback, and elsewhere only with dangerouslyAllowHttp', () => {
    expect(build({ issuer: 'http://127.0.0.1:8080/' })).not.toThrow()
    expect(build({ issuer: 'http://id.example/', dangerouslyAllowHttp: true })).not.toThrow()
    expect(build({ dangerouslyAllowAnyAudience: true, audience: undefined })).not.toThrow()
  })

  it('checks private_key_jwt keys: private, RSA of 2048 bits or more, a type it can sign with', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const x25519 = generateKeyPairSync('x25519')
    const method = 'private_key_jwt'
    expect(build({ clientAuthentication: { method, privateKey: rsa1024.privateKey } })).toThrow(
      /1024-bit RSA key/,
    )
    expect(build({ clientAuthentication: { method, privateKey: ec.publicKey } })).toThrow(/is a public key/)
    expect(build({ clientAuthentication: { method, privateKey: x25519.privateKey } })).toThrow(/of no type/)
    const pem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const jwk = { ...ec.privateKey.export({ format: 'jwk' }), kid: 'k1' }
    for (const privateKey of [ec.privateKey, pem, jwk]) {
      expect(build({ clientAuthentication: { method, privateKey } })).not.toThrow()
    }
    expect(build({ clientAuthentication: { method, privateKey: pem, audience: 'token' } })).toThrow(
      /audience is 'issuer'/,
    )
  })

  it('refuses a Redis cache without a usable client', () => {
    expect(() => redisIntrospectionCache({ client: {} as never })).toThrow(
      /connected ioredis or node-redis client/,
    )
    expect(() => redisIntrospectionCache({ client: { get() {}, set() {} } as never, timeoutMs: 0 })).toThrow(
      /timeoutMs/,
    )
    expect(() => memoryIntrospectionCache({ max: 0 })).toThrow(/max is a positive integer/)
  })
})
