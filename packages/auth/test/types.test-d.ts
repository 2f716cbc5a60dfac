import {
  anyOf,
  type ClientAuthentication,
  type CredentialGuard,
  type IntrospectionGuard,
  type IntrospectionOptions,
  introspection,
  type JwtDiagnostic,
  type JwtGuard,
  type JwtLogger,
  type JwtOptions,
  jwt,
  redisIntrospectionCache,
  type TokenExtractor,
  type TokenFailureReason,
  type TokenLocation,
} from '@apiward/auth'
import type { SecurityRequest } from '@apiward/core'
import type { JWTPayload } from 'jose'
import { describe, expectTypeOf, it } from 'vitest'

const clientAuthentication: ClientAuthentication = { method: 'client_secret_basic', clientSecret: 's' }
const options = { issuer: 'https://id.example/', clientId: 'api', clientAuthentication, audience: 'api' }

describe('introspection() and discovery types', () => {
  it('returns credential guards with ready(), which anyOf() accepts', () => {
    expectTypeOf(introspection(options)).toEqualTypeOf<IntrospectionGuard>()
    expectTypeOf(introspection(options)).toExtend<CredentialGuard>()
    expectTypeOf(introspection(options).ready).returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf(
      jwt({ issuer: 'https://id.example/', discovery: true, audience: 'api' }),
    ).toEqualTypeOf<JwtGuard>()
    expectTypeOf(
      anyOf(introspection(options), jwt({ secret: 's', issuer: 'i', audience: 'a' })),
    ).toEqualTypeOf<CredentialGuard>()
  })

  it('requires the issuer, the client and its authentication', () => {
    // @ts-expect-error clientAuthentication is required
    introspection({ issuer: 'https://id.example/', clientId: 'api', audience: 'api' })
    // @ts-expect-error a secret method needs clientSecret
    introspection({ ...options, clientAuthentication: { method: 'client_secret_post' } })
    // @ts-expect-error private_key_jwt takes a privateKey, not a secret
    introspection({ ...options, clientAuthentication: { method: 'private_key_jwt', clientSecret: 's' } })
    // @ts-expect-error fail-open is not a policy
    introspection({ ...options, onEndpointFailure: 'fail-open' })
  })

  it('types the claims validate() sees and the cache store', () => {
    expectTypeOf<NonNullable<IntrospectionOptions['validate']>>()
      .parameter(0)
      .toEqualTypeOf<Readonly<Record<string, unknown>>>()
    expectTypeOf(redisIntrospectionCache).parameter(0).toHaveProperty('client')
  })
})

describe('jwt() option types', () => {
  it('types verifyClaims, its deprecated alias, the logger and the token sources', () => {
    expectTypeOf<NonNullable<JwtOptions['verifyClaims']>>().parameter(0).toEqualTypeOf<JWTPayload>()
    expectTypeOf<NonNullable<JwtOptions['validate']>>().toEqualTypeOf<
      NonNullable<JwtOptions['verifyClaims']>
    >()
    expectTypeOf<NonNullable<JwtOptions['logger']>>().toEqualTypeOf<JwtLogger | false>()
    expectTypeOf<JwtDiagnostic['reason']>().toEqualTypeOf<TokenFailureReason>()
    expectTypeOf<NonNullable<JwtOptions['extractToken']>>().toEqualTypeOf<TokenExtractor>()
    expectTypeOf<TokenExtractor>().parameter(0).toEqualTypeOf<SecurityRequest>()
    expectTypeOf<TokenLocation>().toEqualTypeOf<'header' | 'query' | 'body' | 'cookie'>()
    // @ts-expect-error the cookie option is a cookie name
    jwt({ secret: 's', issuer: 'i', audience: 'a', tokenLocations: ['cookie'], cookie: { name: 'x' } })
    // @ts-expect-error an extractor answers a string or undefined
    jwt({ secret: 's', issuer: 'i', audience: 'a', extractToken: () => 5 })
  })
})
