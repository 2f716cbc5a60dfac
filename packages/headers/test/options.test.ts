import {
  apiVersion,
  cors,
  deprecationHeaders,
  httpsOnly,
  secureHeaderSet,
  unanchoredReason,
} from '@apiward/headers'
import { describe, expect, it } from 'vitest'

const headersOf = (options: Parameters<typeof secureHeaderSet>[0]) =>
  Object.fromEntries(secureHeaderSet(options).headers)

describe('secureHeaders() options', () => {
  it('refuses an unknown option and names the one meant, helmet legacy names included', () => {
    expect(() => secureHeaderSet({ hsts: { maxAge: 1 } } as never)).toThrow(
      /secureHeaders\(\): unknown option "hsts"; did you mean "strictTransportSecurity"\?/,
    )
    expect(() => secureHeaderSet({ contentSecurityPolicyy: false } as never)).toThrow(
      /did you mean "contentSecurityPolicy"/,
    )
  })

  it("hands helmet's own checks on as a TypeError naming secureHeaders()", () => {
    expect(() => secureHeaderSet({ strictTransportSecurity: { maxage: 5 } as never })).toThrow(TypeError)
    expect(() => secureHeaderSet({ strictTransportSecurity: { maxage: 5 } as never })).toThrow(
      /secureHeaders\(\): Strict-Transport-Security received an unsupported property, `maxage`/,
    )
    expect(() => secureHeaderSet({ referrerPolicy: { policy: 'nope' as never } })).toThrow(
      /unexpected policy token/,
    )
  })

  it('merges CSP directives of the options with the API preset by name', () => {
    const csp = headersOf({
      contentSecurityPolicy: { directives: { imgSrc: ["'self'"], 'default-src': ["'self'"] } },
    })
    expect(csp['content-security-policy']).toBe("frame-ancestors 'none';img-src 'self';default-src 'self'")
  })

  it("starts from helmet's HTML defaults when useDefaults: true asks for them", () => {
    const csp = headersOf({ contentSecurityPolicy: { useDefaults: true } })['content-security-policy']
    expect(csp).toContain("script-src 'self'")
  })

  it('refuses per-request CSP directive functions: the headers are computed once', () => {
    expect(() =>
      secureHeaderSet({ contentSecurityPolicy: { directives: { scriptSrc: [() => "'nonce-x'"] } } }),
    ).toThrow(/contentSecurityPolicy\.directives\.scriptSrc holds a function/)
  })

  it('turns each header off with false and keeps the others', () => {
    const headers = headersOf({ contentSecurityPolicy: false, cacheControl: false, xFrameOptions: false })
    expect(headers['content-security-policy']).toBeUndefined()
    expect(headers['cache-control']).toBeUndefined()
    expect(headers['x-frame-options']).toBeUndefined()
    expect(headers['x-content-type-options']).toBe('nosniff')
  })

  it('turns a header of helmet that the API preset leaves off back on', () => {
    expect(headersOf({ xDnsPrefetchControl: true })['x-dns-prefetch-control']).toBe('off')
  })

  it('builds Permissions-Policy from features and their allowlists', () => {
    const policy = headersOf({
      permissionsPolicy: {
        camera: [],
        geolocation: ['self', 'https://maps.example.test'],
        fullscreen: ['*'],
      },
    })['permissions-policy']
    expect(policy).toBe('camera=(), geolocation=(self "https://maps.example.test"), fullscreen=*')
    expect(() => secureHeaderSet({ permissionsPolicy: { camera: ['evil"); x'] } })).toThrow(
      /permissionsPolicy\.camera/,
    )
  })

  it('refuses a Cache-Control that is not a header value', () => {
    expect(() => secureHeaderSet({ cacheControl: 'no-store\r\nSet-Cookie: a=b' })).toThrow(TypeError)
    expect(() => secureHeaderSet({ cacheControl: 5 as never })).toThrow(/cacheControl must be/)
  })

  it('keeps X-Powered-By only when xPoweredBy: false says so', () => {
    expect(secureHeaderSet({ xPoweredBy: false }).removed).toEqual([])
  })
})

describe('cors() options', () => {
  it('requires an allowlist and refuses an unknown option with the one meant', () => {
    expect(() => cors({} as never)).toThrow(/origins must list the allowed origins/)
    expect(() => cors({ origin: 'https://a.test' } as never)).toThrow(
      /unknown option "origin"; did you mean "origins"/,
    )
    expect(() => cors({ origins: [] })).toThrow(TypeError)
  })

  it.each([
    ['https://app.example.test/', 'https://app.example.test'],
    ['HTTPS://App.Example.Test', 'https://app.example.test'],
    ['https://app.example.test:443', 'https://app.example.test'],
  ])('refuses the origin %s and names its canonical form', (given, canonical) => {
    expect(() => cors({ origins: [given] })).toThrow(`write ${JSON.stringify(canonical)}`)
  })

  it('refuses something that is no origin at all', () => {
    expect(() => cors({ origins: ['app.example.test'] })).toThrow(/is not an origin as browsers send it/)
    expect(() => cors({ origins: [42 as never] })).toThrow(/origins holds number/)
  })

  it.each([
    [/https:\/\/app\.example\.test$/, 'does not start with ^'],
    [/^https:\/\/app\.example\.test/, 'does not end with $'],
    [/^https:\/\/app\.example\.test\$/, 'does not end with $'],
    [/^https:\/\/a\.example\.test|https:\/\/b\.example\.test$/, 'has a | outside a group'],
    [/^https:\/\/app.example\.test$/, 'unescaped .'],
  ])('refuses the unanchored pattern %s', (pattern, reason) => {
    expect(unanchoredReason(pattern)).toContain(reason)
    expect(() => cors({ origins: [pattern] })).toThrow(/is not anchored/)
  })

  it('accepts anchored patterns with groups, classes and quantified dots', () => {
    expect(unanchoredReason(/^https:\/\/(?:a|b)\.example\.test$/)).toBeUndefined()
    expect(unanchoredReason(/^https:\/\/[a-z.]+\.example\.test$/)).toBeUndefined()
    expect(unanchoredReason(/^https:\/\/.+\.example\.test$/)).toBeUndefined()
  })

  it('refuses the null origin and credentials with * unless said so', () => {
    expect(() => cors({ origins: ['null'] })).toThrow(/dangerouslyAllowNullOrigin/)
    expect(() => cors({ origins: ['null'], dangerouslyAllowNullOrigin: true })).not.toThrow()
    expect(() => cors({ origins: '*', credentials: true })).toThrow(/credentials: true with origins: '\*'/)
  })

  it('bounds maxAge and checks methods and header names', () => {
    expect(() => cors({ origins: '*', maxAge: 86_401 })).toThrow(
      /maxAge must be a whole number of seconds from 0 to 86400/,
    )
    expect(() => cors({ origins: '*', maxAge: -1 })).toThrow(TypeError)
    expect(() => cors({ origins: '*', methods: ['GET POST'] })).toThrow(/is not a method/)
    expect(() => cors({ origins: '*', allowedHeaders: ['X-Ok', 'Bad\nHeader'] })).toThrow(
      /is not a header name/,
    )
  })

  it('says what it allows for route inventories', () => {
    const guard = cors({ origins: ['https://app.example.test', /^https:\/\/[a-z]+\.example\.test$/i] })
    expect(guard.kind).toBe('headers')
    expect(guard.settings).toMatchObject({
      origins: ['https://app.example.test', '/^https:\\/\\/[a-z]+\\.example\\.test$/i'],
      credentials: false,
      maxAge: 600,
    })
  })
})

describe('httpsOnly() options', () => {
  it.each([
    ['http://api.example.test', /must be an https origin/],
    ['https://api.example.test/', /write "https:\/\/api\.example\.test"/],
    ['api.example.test', /must be an https origin/],
  ])('refuses redirectTo %s', (redirectTo, message) => {
    expect(() => httpsOnly({ redirectTo })).toThrow(message)
  })

  it('refuses a redirect status that is not a redirect, or one without a target', () => {
    expect(() => httpsOnly({ redirectTo: 'https://api.example.test', redirectStatus: 200 as never })).toThrow(
      /redirectStatus must be 301, 302, 307 or 308/,
    )
    expect(() => httpsOnly({ redirectStatus: 301 })).toThrow(/redirectStatus needs redirectTo/)
    expect(() => httpsOnly({ redirect: 'https://a.test' } as never)).toThrow(/did you mean "redirectTo"/)
  })
})

describe('apiVersion() options', () => {
  it('requires the supported versions and a default among them', () => {
    expect(() => apiVersion({} as never)).toThrow(/supported must list the versions served/)
    expect(() => apiVersion({ supported: ['1', '2'], default: '3' })).toThrow(
      /default must be one of the supported versions/,
    )
    expect(() => apiVersion({ supported: ['1 2'] })).toThrow(/is not a version/)
    expect(() => apiVersion({ versions: ['1'] } as never)).toThrow(/did you mean "supported"/)
  })

  it('checks where the version is read and which versions are deprecated', () => {
    expect(() => apiVersion({ supported: ['1'], from: ['query' as never] })).toThrow(/from must list/)
    expect(() => apiVersion({ supported: ['1'], header: 'Api Version' })).toThrow(
      /header must be a header name/,
    )
    expect(() => apiVersion({ supported: ['1'], deprecated: { '0': { since: true } } })).toThrow(
      /deprecated names "0", which is not a supported version/,
    )
  })
})

describe('deprecationHeaders()', () => {
  it('builds Deprecation, Sunset and Link once', () => {
    const since = new Date('2025-01-01T00:00:00Z')
    const headers = Object.fromEntries(
      deprecationHeaders({
        since,
        sunset: new Date('2025-07-01T00:00:00Z'),
        link: 'https://api.example.test/m',
      }),
    )
    expect(headers).toEqual({
      deprecation: '@1735689600',
      sunset: 'Tue, 01 Jul 2025 00:00:00 GMT',
      link: '<https://api.example.test/m>; rel="deprecation"; type="text/html"',
    })
  })

  it('refuses a sunset before the deprecation, an invalid date and a link that is no URL', () => {
    const since = new Date('2025-01-01T00:00:00Z')
    expect(() => deprecationHeaders({ since, sunset: new Date('2024-01-01T00:00:00Z') })).toThrow(
      /is before since/,
    )
    expect(() => deprecationHeaders({ since: new Date('nope') })).toThrow(/since must be a valid Date/)
    expect(() => deprecationHeaders({ since, link: 'javascript:alert(1)' })).toThrow(
      /link must be an absolute http/,
    )
    expect(() => deprecationHeaders({ since, link: 'https://a.test/>; rel="x"' })).toThrow(TypeError)
  })
})
