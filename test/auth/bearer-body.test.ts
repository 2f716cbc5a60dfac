import { randomBytes } from 'node:crypto'
import { jwt } from '@apiward/auth'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { formHarnesses } from './form-servers.js'

const secret = randomBytes(32)
const ISS = 'https://id.example.test/'
const AUD = 'https://api.example.test'
const token = () =>
  new SignJWT({ sub: 'alice', scope: 'notes:write' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISS)
    .setAudience(AUD)
    .setExpirationTime('10m')
    .sign(secret)
const fromBody = () => jwt({ secret, issuer: ISS, audience: AUD, tokenLocations: ['header', 'body'] })
const form = (body: string) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body,
})
const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
})

describe.each(harnesses)('access_token in a JSON body through $name', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({ routes: [{ method: 'POST', path: '/notes', guards: [fromBody()] }] })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('is no bearer token: RFC 6750 section 2.2 allows only form-encoded bodies', async () => {
    const a = await send(`${server.url}/notes`, json({ access_token: await token(), title: 'hello' }))
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.missing_token')
    expect(a.headers['www-authenticate']).toBe('Bearer realm="api"')
  })

  it('is also ignored under a +json media type, while the header still works', async () => {
    const t = await token()
    const a = await send(`${server.url}/notes`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.api+json' },
      body: JSON.stringify({ access_token: t }),
    })
    expect(a.status).toBeGreaterThanOrEqual(400)
    expect(a.status).toBeLessThan(500)
    expect(a.json?.auth).toBeUndefined()
    const byHeader = await send(`${server.url}/notes`, {
      ...json({}),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t}` },
    })
    expect(byHeader.status).toBe(200)
  })
})

describe.each(formHarnesses)('access_token in a form body through $name', (harness) => {
  let server: RunningServer
  let headerOnly: RunningServer
  beforeAll(async () => {
    server = await harness.start([fromBody()])
    headerOnly = await harness.start([jwt({ secret, issuer: ISS, audience: AUD })])
  })
  afterAll(async () => {
    await server?.close()
    await headerOnly?.close()
  })

  it('authenticates when body tokens are enabled', async () => {
    const a = await send(`${server.url}/form`, form(`title=hi&access_token=${await token()}`))
    expect(a.status).toBe(200)
    expect(a.json.auth).toMatchObject({ id: 'alice', credential: 'jwt' })
  })

  it('is ignored when body tokens are not enabled', async () => {
    const a = await send(`${headerOnly.url}/form`, form(`access_token=${await token()}`))
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.missing_token')
  })

  it('is refused with 400 when it also comes in the header, or twice, and never with a 5xx', async () => {
    const t = await token()
    const both = await send(`${server.url}/form`, {
      ...form(`access_token=${t}`),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${t}` },
    })
    expect(both.status).toBe(400)
    expect(both.json.code).toBe('auth.invalid_request')
    const twice = await send(`${server.url}/form`, form(`access_token=${t}&access_token=${t}`))
    expect(twice.status).toBeGreaterThanOrEqual(400)
    expect(twice.status).toBeLessThan(500)
  })

  it('is not taken from a JSON body of the same route', async () => {
    const a = await send(`${server.url}/form`, json({ access_token: await token() }))
    expect(a.status).toBe(401)
    expect(a.json.code).toBe('auth.missing_token')
  })
})
