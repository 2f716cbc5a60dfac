import { introspection, jwt, wellKnownUrls } from '@apiward/auth'
import { describe, expect, it } from 'vitest'

const urls = (issuer: string) => wellKnownUrls(new URL(issuer)).map((u) => u.href)

describe('wellKnownUrls()', () => {
  it.each([
    [
      'https://as.example/',
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ],
    [
      'https://as.example',
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ],
    [
      'https://as.example/tenant/acme',
      'https://as.example/.well-known/oauth-authorization-server/tenant/acme',
      'https://as.example/tenant/acme/.well-known/openid-configuration',
    ],
    [
      'https://as.example/tenant/acme/',
      'https://as.example/.well-known/oauth-authorization-server/tenant/acme',
      'https://as.example/tenant/acme/.well-known/openid-configuration',
    ],
    [
      'https://as.example:8443/realms/main',
      'https://as.example:8443/.well-known/oauth-authorization-server/realms/main',
      'https://as.example:8443/realms/main/.well-known/openid-configuration',
    ],
  ])(
    'puts the RFC 8414 suffix before the path of %s and appends the OpenID one',
    (issuer, rfc8414, openid) => {
      expect(urls(issuer)).toEqual([rfc8414, openid])
    },
  )
})

const client = { method: 'client_secret_basic', clientSecret: 's3cret' } as const
const base = { clientId: 'api', clientAuthentication: client, audience: 'https://api.example' }

describe('discovery options', () => {
  it.each([
    [{ issuer: 'http://id.example/', discovery: true }, /must use https:.*dangerouslyAllowHttpJwks/],
    [{ issuer: 'https://id.example/?tenant=a', discovery: true }, /query or fragment/],
    [{ issuer: 'https://id.example/#x', discovery: true }, /query or fragment/],
    [{ issuer: ['https://a.example/', 'https://b.example/'], discovery: true }, /single string/],
    [
      { issuer: 'https://id.example/', discovery: true, jwksUri: 'https://id.example/jwks' },
      /exactly one of/,
    ],
    [{ issuer: 'https://id.example/', discovery: 'yes' }, /discovery is true/],
    [
      { issuer: 'https://id.example/', issuerBaseURL: 'https://id.example/' },
      /did you mean "issuer, with discovery: true"/,
    ],
  ])('refuses jwt() options %j at startup', (options, message) => {
    expect(() => jwt({ audience: 'api', ...options } as never)).toThrow(message)
  })

  it('accepts plain HTTP on loopback and with dangerouslyAllowHttpJwks', () => {
    expect(() => jwt({ issuer: 'http://127.0.0.1:1/', discovery: true, audience: 'api' })).not.toThrow()
    expect(() =>
      jwt({ issuer: 'http://id.example/', discovery: true, audience: 'api', dangerouslyAllowHttpJwks: true }),
    ).not.toThrow()
  })

  it('takes discovery per issuer in an issuers map', () => {
    expect(() =>
      jwt({
        issuers: { 'https://a.example/': { discovery: true }, 'https://b.example/t': { discovery: true } },
        audience: 'api',
      }),
    ).not.toThrow()
    expect(() => jwt({ issuers: { 'http://a.example/': { discovery: true } }, audience: 'api' })).toThrow(
      /https:/,
    )
  })

  it('rejects ready() with the URLs tried and why when no metadata can be had', async () => {
    const guard = jwt({
      issuer: 'http://127.0.0.1:9/',
      discovery: true,
      audience: 'api',
      jwksOptions: { timeoutMs: 500 },
    })
    await expect(guard.ready()).rejects.toThrow(
      /jwt\(\): the metadata of issuer http:\/\/127\.0\.0\.1:9\/ could not be loaded: .*oauth-authorization-server.*openid-configuration/,
    )
  })

  it('resolves ready() at once for local keys', async () => {
    await expect(jwt({ secret: 'x'.repeat(32), issuer: 'i', audience: 'a' }).ready()).resolves.toBeUndefined()
  })

  it('refuses introspection() issuers it cannot discover safely', () => {
    expect(() => introspection({ ...base, issuer: 'http://id.example/' })).toThrow(
      /must use https:.*dangerouslyAllowHttp/,
    )
    expect(() => introspection({ ...base, issuer: 'https://id.example/?a=1' })).toThrow(/query or fragment/)
    expect(() => introspection({ ...base, issuer: 'https://client:secret@id.example/' })).toThrow(
      /has userinfo/,
    )
    expect(() => introspection({ ...base, issuer: 'id.example' })).toThrow(/not an absolute URL/)
  })
})
