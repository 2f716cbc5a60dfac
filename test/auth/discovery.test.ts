import { randomUUID } from 'node:crypto'
import { jwt } from '@apiward/auth'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { send, sleep } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { type AuthorizationServer, startAuthorizationServer } from './as-support.js'
import { AUDIENCE, sign, signingKey } from './jwt-support.js'

let as: AuthorizationServer
beforeAll(async () => {
  as = await startAuthorizationServer()
})
afterAll(async () => {
  await as.close()
})
afterEach(() => {
  for (const issuer of [as.root, as.tenant]) {
    issuer.publishes = 'both'
    issuer.claimedIssuer = issuer.issuer
  }
  as.metadataMode = 'ok'
})

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } })
const hitsOf = (path: string) => as.hits[path] ?? 0
const RFC8414_ROOT = '/.well-known/oauth-authorization-server'
const OPENID_ROOT = '/.well-known/openid-configuration'
const RFC8414_TENANT = '/.well-known/oauth-authorization-server/tenants/acme'
const OPENID_TENANT = '/tenants/acme/.well-known/openid-configuration'

describe.each(harnesses)('jwt() with discovery through $name', (harness) => {
  let server: RunningServer
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))
  const fast = { timeoutMs: 500, cooldownMs: 200, maxAgeMs: 150, maxBytes: 32_768 }

  const route = (path: string, issuer: string) => ({
    method: 'GET' as const,
    path,
    guards: [jwt({ issuer, discovery: true, audience: AUDIENCE, events: bus, jwksOptions: fast })],
  })

  beforeAll(async () => {
    server = await harness.start({
      events: bus,
      routes: [
        route('/root', as.root.issuer),
        route('/tenant', as.tenant.issuer),
        route('/openid-only', as.tenant.issuer),
        route('/rfc8414-only', as.tenant.issuer),
        route('/mismatch', as.tenant.issuer),
        route('/outage', as.root.issuer),
        route('/endless', as.tenant.issuer),
      ],
    })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('finds the keys of an issuer at the root through RFC 8414 first, with only the issuer configured', async () => {
    const before = { rfc: hitsOf(RFC8414_ROOT), openid: hitsOf(OPENID_ROOT) }
    const a = await send(`${server.url}/root`, bearer(await sign(as.key, { iss: as.root.issuer })))
    expect(a.status).toBe(200)
    expect(a.json.auth).toMatchObject({ id: 'alice', credential: 'jwt' })
    expect(hitsOf(RFC8414_ROOT) - before.rfc).toBe(1)
    expect(hitsOf(OPENID_ROOT) - before.openid).toBe(0)
  })

  it('inserts the well-known suffix before the path of an issuer with a path (RFC 8414 section 3.1)', async () => {
    const before = hitsOf(RFC8414_TENANT)
    const a = await send(`${server.url}/tenant`, bearer(await sign(as.key, { iss: as.tenant.issuer })))
    expect(a.status).toBe(200)
    expect(hitsOf(RFC8414_TENANT) - before).toBe(1)
    expect(
      events.some((e) => e.type === 'discovery.refreshed' && e.url === `${as.origin}${RFC8414_TENANT}`),
    ).toBe(true)
  })

  it('falls back to OpenID Discovery, appended to the issuer, when RFC 8414 metadata is missing', async () => {
    as.tenant.publishes = 'openid'
    const before = { rfc: hitsOf(RFC8414_TENANT), openid: hitsOf(OPENID_TENANT) }
    const a = await send(`${server.url}/openid-only`, bearer(await sign(as.key, { iss: as.tenant.issuer })))
    expect(a.status).toBe(200)
    expect(hitsOf(RFC8414_TENANT) - before.rfc).toBe(1)
    expect(hitsOf(OPENID_TENANT) - before.openid).toBe(1)
  })

  it('never asks for OpenID metadata when RFC 8414 metadata answers', async () => {
    as.tenant.publishes = 'rfc8414'
    const before = hitsOf(OPENID_TENANT)
    expect(
      (await send(`${server.url}/rfc8414-only`, bearer(await sign(as.key, { iss: as.tenant.issuer }))))
        .status,
    ).toBe(200)
    expect(hitsOf(OPENID_TENANT) - before).toBe(0)
  })

  it('refuses metadata whose issuer differs by a single character (RFC 8414 section 3.3)', async () => {
    as.tenant.claimedIssuer = `${as.tenant.issuer}/`
    const before = events.length
    const a = await send(`${server.url}/mismatch`, bearer(await sign(as.key, { iss: as.tenant.issuer })))
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.invalid_token')
    const failed = events.slice(before).filter((e) => e.type === 'discovery.refresh_failed')
    expect(failed.length).toBeGreaterThan(0)
    expect(String(failed[0]!.reason)).toContain(`metadata names issuer "${as.tenant.issuer}/"`)
    expect(failed[0]!.severity).toBe('warn')
    expect(events.slice(before).find((e) => e.type === 'auth.failure')?.reason).toBe('keys_unavailable')
    as.tenant.claimedIssuer = as.tenant.issuer
    await sleep(20)
    expect(
      (await send(`${server.url}/mismatch`, bearer(await sign(as.key, { iss: as.tenant.issuer })))).status,
    ).toBe(200)
  })

  it('keeps serving the keys it has while the metadata is gone or garbage', async () => {
    // A new token each time: a token the guard verified before skips the key lookup.
    const token = () => sign(as.key, { iss: as.root.issuer, jti: randomUUID() })
    expect((await send(`${server.url}/outage`, bearer(await token()))).status).toBe(200)
    for (const change of [() => (as.root.publishes = 'none'), () => (as.metadataMode = 'garbage')]) {
      change()
      const before = events.length
      await sleep(250)
      expect((await send(`${server.url}/outage`, bearer(await token()))).status).toBe(200)
      await sleep(50)
      const failed = events.slice(before).filter((e) => e.type === 'discovery.refresh_failed')
      expect(failed.length).toBeGreaterThan(0)
      expect(failed[0]).toMatchObject({ issuer: as.root.issuer, servingCachedMetadata: true })
      expect((await send(`${server.url}/outage`, bearer(await token()))).status).toBe(200)
    }
  })

  it('cuts a metadata document off at maxBytes while it streams, and answers 401 at once', async () => {
    as.metadataMode = 'endless'
    as.streamed = 0
    const droppedBefore = as.dropped
    const started = Date.now()
    const a = await send(`${server.url}/endless`, bearer(await sign(as.key, { iss: as.tenant.issuer })))
    expect(a.status).toBe(401)
    expect(Date.now() - started).toBeLessThan(1500)
    await sleep(50)
    expect(as.dropped - droppedBefore).toBeGreaterThanOrEqual(1)
    // Two places tried, each cut at 32 KB (plus what was in flight).
    expect(as.streamed).toBeLessThan(2 * (32_768 + 4 * 16_384))
  })
})

describe('jwt() discovery at startup', () => {
  it('loads metadata and keys in ready(), then verifies the first token without a fetch', async () => {
    const guard = jwt({ issuer: as.root.issuer, discovery: true, audience: AUDIENCE })
    await guard.ready()
    const before = { meta: hitsOf(RFC8414_ROOT), jwks: hitsOf('/jwks') }
    const server = await harnesses[0]!.start({ routes: [{ method: 'GET', path: '/me', guards: [guard] }] })
    try {
      expect(
        (await send(`${server.url}/me`, bearer(await sign(as.key, { iss: as.root.issuer })))).status,
      ).toBe(200)
      expect(hitsOf(RFC8414_ROOT) - before.meta).toBe(0)
      expect(hitsOf('/jwks') - before.jwks).toBe(0)
    } finally {
      await server.close()
    }
  })

  it('rejects ready() naming the mismatch, and the metadata with a slow answer within the timeout', async () => {
    as.root.claimedIssuer = 'https://elsewhere.example/'
    await expect(
      jwt({ issuer: as.root.issuer, discovery: true, audience: AUDIENCE }).ready(),
    ).rejects.toThrow(/metadata names issuer "https:\/\/elsewhere\.example\/"/)
    as.root.claimedIssuer = as.root.issuer
    as.metadataMode = 'slow'
    const started = Date.now()
    await expect(
      jwt({
        issuer: as.root.issuer,
        discovery: true,
        audience: AUDIENCE,
        jwksOptions: { timeoutMs: 300 },
      }).ready(),
    ).rejects.toThrow(/could not be loaded/)
    // One budget for both places: the whole discovery never takes much more than the timeout.
    expect(Date.now() - started).toBeLessThan(900)
  })

  it('refuses a jwks_uri over plain HTTP off loopback, even when the metadata names it', async () => {
    as.root.extra = { jwks_uri: 'http://keys.example/jwks' }
    try {
      await expect(
        jwt({ issuer: as.root.issuer, discovery: true, audience: AUDIENCE }).ready(),
      ).rejects.toThrow(/jwks_uri must use https:/)
    } finally {
      as.root.extra = {}
    }
  })

  it('follows the metadata to a new jwks_uri', async () => {
    const other = await signingKey('ES256', 'as-1')
    const guard = jwt({
      issuer: as.tenant.issuer,
      discovery: true,
      audience: AUDIENCE,
      jwksOptions: { maxAgeMs: 100, cooldownMs: 50 },
    })
    await guard.ready()
    as.tenant.extra = { jwks_uri: `${as.origin}/jwks` }
    try {
      const server = await harnesses[0]!.start({ routes: [{ method: 'GET', path: '/me', guards: [guard] }] })
      try {
        const before = hitsOf('/jwks')
        await sleep(150)
        await send(`${server.url}/me`, bearer(await sign(as.key, { iss: as.tenant.issuer })))
        await sleep(100)
        expect(
          (await send(`${server.url}/me`, bearer(await sign(as.key, { iss: as.tenant.issuer })))).status,
        ).toBe(200)
        expect(hitsOf('/jwks') - before).toBeGreaterThanOrEqual(1)
        expect(
          (await send(`${server.url}/me`, bearer(await sign(other, { iss: as.tenant.issuer })))).status,
        ).toBe(401)
      } finally {
        await server.close()
      }
    } finally {
      as.tenant.extra = {}
    }
  })
})
