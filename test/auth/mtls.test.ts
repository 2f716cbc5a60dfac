import { jwt, kClientCertificate, mtls } from '@apiward/auth'
import { configureWarnings, resetWarnings, type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RouteSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import {
  createPki,
  type Issued,
  type Pki,
  selfSigned,
  sendTls,
  serverTls,
  thumbprintOf,
} from './mtls-support.js'

const ISSUER = 'https://id.example.test/'
const AUDIENCE = 'https://api.example.test'
const DAY = 86_400_000

let pki: Pki
let valid: Issued
let spiffe: Issued
let wrongCa: Issued
let expired: Issued
let registered: Issued
let unregistered: Issued
let signingKey: CryptoKey
let publicKey: JWK

beforeAll(async () => {
  pki = await createPki()
  valid = await pki.clientCa.issue({
    subject: 'CN=billing-service, O=Example',
    dns: ['billing.internal.example'],
    emails: ['billing@example.test'],
  })
  spiffe = await pki.clientCa.issue({ subject: 'CN=worker', uris: ['spiffe://example.test/billing'] })
  wrongCa = await pki.otherCa.issue({ subject: 'CN=billing-service, O=Example' })
  expired = await pki.clientCa.issue({
    subject: 'CN=billing-service, O=Example',
    notBefore: new Date(Date.now() - 10 * DAY),
    notAfter: new Date(Date.now() - DAY),
  })
  registered = await selfSigned('CN=partner-registered')
  unregistered = await selfSigned('CN=partner-registered')
  const pair = await generateKeyPair('ES256')
  signingKey = pair.privateKey
  publicKey = await exportJWK(pair.publicKey)
})

const token = (claims: JWTPayload) =>
  new SignJWT({ sub: 'client-a', ...claims })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey)

const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

function routes(): RouteSpec[] {
  const bound = jwt({ publicKey, issuer: ISSUER, audience: AUDIENCE })
  return [
    { method: 'GET', path: '/pki', guards: [mtls()] },
    {
      method: 'GET',
      path: '/self-signed',
      guards: [mtls({ mode: 'self-signed', certificates: [registered.cert] })],
    },
    {
      method: 'GET',
      path: '/spiffe',
      guards: [mtls({ principalFrom: 'uri', allow: ['spiffe://example.test/billing'] })],
    },
    { method: 'GET', path: '/dns', guards: [mtls({ principalFrom: 'dns' })] },
    {
      method: 'GET',
      path: '/lookup',
      guards: [
        mtls({
          lookup: (cert) =>
            cert.commonName === 'billing-service'
              ? { id: 'svc-billing', scopes: ['payouts:write'] }
              : undefined,
        }),
      ],
    },
    {
      method: 'GET',
      path: '/state',
      guards: [mtls()],
      handler: ({ state }) => ({ body: { thumbprint: state(kClientCertificate)?.thumbprint ?? null } }),
    },
    { method: 'GET', path: '/bound', guards: [bound] },
    {
      method: 'GET',
      path: '/bound-required',
      guards: [
        jwt({ publicKey, issuer: ISSUER, audience: AUDIENCE, certificateBinding: { required: true } }),
      ],
    },
  ]
}

const tlsHarnesses = harnesses.filter((h) => h.framework !== 'hono')

describe.each(tlsHarnesses)('mtls() over TLS on $name', (harness) => {
  let server: RunningServer
  const events: SecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((e) => events.push(e))

  beforeAll(async () => {
    server = await harness.start({ routes: routes(), tls: serverTls(pki), events: bus })
  })
  afterAll(() => server.close())

  const get = (path: string, client?: Issued, headers?: Record<string, string>) =>
    sendTls(server.url + path, pki, { client, headers })

  it('accepts a certificate issued by the CA, with the subject as the principal', async () => {
    const res = await get('/pki', valid)
    expect(res.status).toBe(200)
    expect(res.json.auth).toMatchObject({
      id: 'CN=billing-service, O=Example',
      kind: 'service',
      credential: 'mtls',
      claims: { 'x5t#S256': await thumbprintOf(valid.der), dns: ['billing.internal.example'] },
    })
  })

  it('refuses a certificate from another CA with 401 auth.invalid_certificate', async () => {
    const res = await get('/pki', wrongCa)
    expect(res.status).toBe(401)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json.code).toBe('auth.invalid_certificate')
    expect(events.some((e) => e.type === 'auth.failure' && (e as any).reason === 'not_verified')).toBe(true)
  })

  it('refuses an expired certificate of the CA', async () => {
    const res = await get('/pki', expired)
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.invalid_certificate')
    expect(events.some((e) => e.type === 'auth.failure' && (e as any).reason === 'expired')).toBe(true)
  })

  it('refuses a request without a certificate with 401 auth.missing_certificate', async () => {
    const res = await get('/pki')
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.missing_certificate')
  })

  it('accepts a registered self-signed certificate without any CA', async () => {
    const res = await get('/self-signed', registered)
    expect(res.status).toBe(200)
    expect(res.json.auth.id).toBe('CN=partner-registered')
  })

  it('refuses an unregistered self-signed certificate, even with the same subject', async () => {
    const res = await get('/self-signed', unregistered)
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.invalid_certificate')
  })

  it('refuses a CA-issued certificate on a self-signed route when it is not registered', async () => {
    expect((await get('/self-signed', valid)).status).toBe(401)
  })

  it('maps a SPIFFE URI to the principal and refuses ids outside the allowlist', async () => {
    const ok = await get('/spiffe', spiffe)
    expect(ok.status).toBe(200)
    expect(ok.json.auth.id).toBe('spiffe://example.test/billing')
    expect((await get('/spiffe', valid)).status).toBe(401)
  })

  it('maps the first DNS name to the principal', async () => {
    const res = await get('/dns', valid)
    expect(res.json.auth.id).toBe('billing.internal.example')
  })

  it('takes the principal from the lookup, which may refuse a verified certificate', async () => {
    const ok = await get('/lookup', valid)
    expect(ok.status).toBe(200)
    expect(ok.json.auth).toMatchObject({ id: 'svc-billing', scopes: ['payouts:write'], credential: 'mtls' })
    expect((await get('/lookup', spiffe)).status).toBe(401)
  })

  it('never lets the lookup admit a certificate the CA did not issue', async () => {
    expect((await get('/lookup', wrongCa)).status).toBe(401)
  })

  it('hands the accepted certificate to the handler', async () => {
    const res = await get('/state', valid)
    expect(res.json.thumbprint).toBe(await thumbprintOf(valid.der))
  })

  it('accepts a certificate-bound token with the certificate it is bound to', async () => {
    const t = await token({ cnf: { 'x5t#S256': await thumbprintOf(valid.der) } })
    const res = await get('/bound', valid, bearer(t))
    expect(res.status).toBe(200)
    expect(res.json.auth.id).toBe('client-a')
  })

  it('refuses a certificate-bound token presented with another certificate', async () => {
    const t = await token({ cnf: { 'x5t#S256': await thumbprintOf(valid.der) } })
    const res = await get('/bound', spiffe, bearer(t))
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.invalid_token')
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"')
    expect(
      events.some((e) => e.type === 'auth.failure' && (e as any).reason === 'certificate_mismatch'),
    ).toBe(true)
  })

  it('refuses a certificate-bound token presented without a certificate, also from the token cache', async () => {
    const t = await token({ cnf: { 'x5t#S256': await thumbprintOf(valid.der) } })
    expect((await get('/bound', valid, bearer(t))).status).toBe(200)
    expect((await get('/bound', undefined, bearer(t))).status).toBe(401)
  })

  it('accepts an unbound token unless binding is required', async () => {
    const t = await token({})
    expect((await get('/bound', valid, bearer(t))).status).toBe(200)
    const res = await get('/bound-required', valid, bearer(t))
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('auth.invalid_token')
  })
})

describe('mtls() options', () => {
  it('refuses self-signed mode without registered certificates', () => {
    expect(() => mtls({ mode: 'self-signed' })).toThrow(/certificates \(PEM or DER\) or thumbprints/)
  })

  it('refuses registered certificates in PKI mode', () => {
    expect(() => mtls({ certificates: [registered.cert] })).toThrow(/mode: 'self-signed'/)
  })

  it('refuses a forwarded header in PKI mode without the CA to verify it', () => {
    expect(() => mtls({ forwardedCertificateHeader: 'x-ssl-client-cert' })).toThrow(/give ca/)
  })

  it('names a mistyped option', () => {
    expect(() => mtls({ forwardedHeader: 'x' } as never)).toThrow(/did you mean "forwardedCertificateHeader"/)
  })

  it('refuses a thumbprint that is neither base64url nor hex', () => {
    expect(() => mtls({ thumbprints: ['abc'] })).toThrow(/thumbprints\[0\]/)
  })

  it('refuses a registered certificate that does not parse', () => {
    expect(() => mtls({ mode: 'self-signed', certificates: ['not a pem'] })).toThrow(/certificates\[0\]/)
  })

  it('refuses an unknown principal source', () => {
    expect(() => mtls({ principalFrom: 'cn' as never })).toThrow(/principalFrom is one of/)
  })
})

describe.each(harnesses.filter((h) => h.framework !== 'hono'))(
  'forwarded certificates on $name',
  (harness) => {
    let direct: RunningServer
    let proxied: RunningServer
    const warnings: string[] = []
    const header = 'x-ssl-client-cert'
    const forwardedRoutes = (): RouteSpec[] => [
      {
        method: 'GET',
        path: '/pki',
        guards: [mtls({ forwardedCertificateHeader: header, ca: [pki.clientCa.cert] })],
      },
      {
        method: 'GET',
        path: '/envoy',
        guards: [mtls({ forwardedCertificateHeader: 'x-forwarded-client-cert', ca: [pki.clientCa.cert] })],
      },
      {
        method: 'GET',
        path: '/bound',
        guards: [
          jwt({
            publicKey,
            issuer: ISSUER,
            audience: AUDIENCE,
            certificateBinding: { forwardedCertificateHeader: header },
          }),
        ],
      },
    ]

    beforeAll(async () => {
      configureWarnings({ logger: (code) => warnings.push(code) })
      direct = await harness.start({ routes: forwardedRoutes() })
      proxied = await harness.start({ routes: forwardedRoutes(), trustProxy: 1 })
    })
    afterAll(async () => {
      configureWarnings()
      await direct.close()
      await proxied.close()
    })

    const escaped = (cert: Issued) => encodeURIComponent(cert.cert)
    const viaProxy = (headers: Record<string, string>) => ({
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', ...headers },
    })

    it('ignores the header from a peer the framework does not trust, and warns', async () => {
      resetWarnings()
      warnings.length = 0
      const res = await send(`${direct.url}/pki`, viaProxy({ [header]: escaped(valid) }))
      expect(res.status).toBe(401)
      expect(res.json.code).toBe('auth.missing_certificate')
      expect(warnings).toContain('APIWARD_UNTRUSTED_CERTIFICATE_HEADER')
    })

    it('honours the header from a trusted proxy', async () => {
      const res = await send(`${proxied.url}/pki`, viaProxy({ [header]: escaped(valid) }))
      expect(res.status).toBe(200)
      expect(res.json.auth.id).toBe('CN=billing-service, O=Example')
    })

    it('ignores the header from a trusted peer that forwarded no client address', async () => {
      const res = await send(`${proxied.url}/pki`, { headers: { [header]: escaped(valid) } })
      expect(res.status).toBe(401)
    })

    it('verifies a forwarded certificate against the CA itself', async () => {
      const res = await send(`${proxied.url}/pki`, viaProxy({ [header]: escaped(wrongCa) }))
      expect(res.status).toBe(401)
      expect(res.json.code).toBe('auth.invalid_certificate')
      expect((await send(`${proxied.url}/pki`, viaProxy({ [header]: escaped(expired) }))).status).toBe(401)
    })

    it('refuses a forwarded header that holds no certificate, without a 500', async () => {
      const res = await send(`${proxied.url}/pki`, viaProxy({ [header]: '%%%not-a-cert' }))
      expect(res.status).toBe(401)
      expect(res.json.code).toBe('auth.invalid_certificate')
    })

    it('reads the Cert of an Envoy X-Forwarded-Client-Cert element', async () => {
      const xfcc = `Hash=abc;Cert="${escaped(valid)}";Subject="CN=billing-service"`
      const res = await send(`${proxied.url}/envoy`, viaProxy({ 'x-forwarded-client-cert': xfcc }))
      expect(res.status).toBe(200)
    })

    it('refuses an X-Forwarded-Client-Cert with several elements (a hop appended to a client value)', async () => {
      const xfcc = `Cert="${escaped(valid)}",Cert="${escaped(spiffe)}"`
      expect((await send(`${proxied.url}/envoy`, viaProxy({ 'x-forwarded-client-cert': xfcc }))).status).toBe(
        401,
      )
    })

    it('checks a bound token against the certificate a trusted proxy forwarded', async () => {
      const t = await token({ cnf: { 'x5t#S256': await thumbprintOf(valid.der) } })
      const right = await send(`${proxied.url}/bound`, viaProxy({ ...bearer(t), [header]: escaped(valid) }))
      expect(right.status).toBe(200)
      const wrong = await send(`${proxied.url}/bound`, viaProxy({ ...bearer(t), [header]: escaped(spiffe) }))
      expect(wrong.status).toBe(401)
      const untrusted = await send(
        `${direct.url}/bound`,
        viaProxy({ ...bearer(t), [header]: escaped(valid) }),
      )
      expect(untrusted.status).toBe(401)
    })
  },
)
