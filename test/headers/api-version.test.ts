import { type AnySecurityEvent, defineGuard, kDeprecation, SecurityEventBus } from '@apiward/core'
import { apiVersion, cors, deprecated, kApiVersion } from '@apiward/headers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { HandlerInput, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const SINCE = new Date('2025-06-01T00:00:00Z')
const SUNSET = new Date('2026-06-01T00:00:00Z')
const DOCS = 'https://api.example.test/docs/migrate-to-v2'

// What validate's openapi() records for an operation with `deprecated: true`.
const markedDeprecated = defineGuard(
  (ctx) => ctx.set(kDeprecation, { since: true, link: 'https://api.example.test/docs/search' }),
  { guardName: 'markedDeprecated' },
)

describe.each(harnesses)('$name: apiVersion()', (harness) => {
  let server: RunningServer
  let url: string
  const events: AnySecurityEvent[] = []
  beforeAll(async () => {
    const bus = new SecurityEventBus()
    bus.on((event) => events.push(event))
    const byHeader = apiVersion({
      supported: ['1', '2'],
      default: '2',
      from: ['header', 'mediaType'],
      deprecated: { '1': { since: SINCE, sunset: SUNSET, link: DOCS } },
    })
    const byPath = apiVersion({ supported: ['1', '2'], from: ['path'] })
    const version = ({ state }: HandlerInput) => ({ body: { version: state(kApiVersion) ?? null } })
    server = await harness.start({
      events: bus,
      firstGuards: [cors({ origins: ['https://app.example.test'] })],
      routes: [
        { method: 'GET', path: '/notes', guards: [byHeader], handler: version },
        {
          method: 'GET',
          path: '/linked',
          guards: [byHeader],
          handler: () => ({ body: { ok: true }, headers: { Link: '</notes?page=2>; rel="next"' } }),
        },
        { method: 'GET', path: '/search', guards: [markedDeprecated, byHeader], handler: version },
        {
          method: 'GET',
          path: '/legacy',
          guards: [deprecated({ since: SINCE, sunset: SUNSET })],
        },
        { method: 'GET', path: '/v1/items', guards: [byPath], handler: version },
        { method: 'GET', path: '/v2/items', guards: [byPath], handler: version },
        { method: 'GET', path: '/v3/items', guards: [byPath], handler: version },
        { method: 'GET', path: '/items', guards: [byPath], handler: version },
      ],
    })
    url = server.url
  })
  afterAll(() => server.close())

  it('serves the default version to a request that names none, without deprecation headers', async () => {
    const answer = await send(`${url}/notes`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ version: '2' })
    expect(answer.headers.deprecation).toBeUndefined()
    expect(answer.headers.sunset).toBeUndefined()
  })

  it('hands the handler the version of the Api-Version header', async () => {
    const answer = await send(`${url}/notes`, { headers: { 'Api-Version': '2' } })
    expect(answer.json).toEqual({ version: '2' })
  })

  it('reads the version parameter of a vendor media type in Accept', async () => {
    const answer = await send(`${url}/notes`, {
      headers: { Accept: 'application/vnd.example+json; version=1, application/json;q=0.5' },
    })
    expect(answer.json).toEqual({ version: '1' })
  })

  it('announces a deprecated version with Deprecation, Sunset and a deprecation Link', async () => {
    const answer = await send(`${url}/notes`, { headers: { 'Api-Version': '1' } })
    expect(answer.status).toBe(200)
    expect(answer.headers.deprecation).toBe(`@${SINCE.getTime() / 1000}`)
    expect(answer.headers.sunset).toBe('Mon, 01 Jun 2026 00:00:00 GMT')
    expect(answer.headers.link).toBe(`<${DOCS}>; rel="deprecation"; type="text/html"`)
  })

  it("keeps the handler's own Link beside the deprecation link", async () => {
    const answer = await send(`${url}/linked`, { headers: { 'Api-Version': '1' } })
    const link = String(answer.headers.link)
    expect(link).toContain('</notes?page=2>; rel="next"')
    expect(link).toContain(`<${DOCS}>; rel="deprecation"`)
  })

  it('announces an operation another guard recorded as deprecated', async () => {
    const answer = await send(`${url}/search`, { headers: { 'Api-Version': '2' } })
    expect(answer.status).toBe(200)
    expect(answer.headers.deprecation).toBe('@0')
    expect(answer.headers.link).toBe(
      '<https://api.example.test/docs/search>; rel="deprecation"; type="text/html"',
    )
  })

  it('announces a route marked with deprecated()', async () => {
    const answer = await send(`${url}/legacy`)
    expect(answer.headers.deprecation).toBe(`@${SINCE.getTime() / 1000}`)
    expect(answer.headers.sunset).toBe(SUNSET.toUTCString())
  })

  it('lets a browser of an allowed origin read the deprecation headers', async () => {
    const answer = await send(`${url}/notes`, {
      headers: { 'Api-Version': '1', Origin: 'https://app.example.test' },
    })
    const exposed = String(answer.headers['access-control-expose-headers']).split(', ')
    expect(exposed).toEqual(expect.arrayContaining(['Deprecation', 'Sunset', 'Link']))
  })

  it.each([
    ['an unknown version', { 'Api-Version': '3' }],
    ['a version that is not a token', { 'Api-Version': '../../etc/passwd' }],
    ['two different versions', { 'Api-Version': '1', Accept: 'application/vnd.example+json; version=2' }],
  ])('refuses %s with a 400 request.unsupported_version problem', async (_case, headers) => {
    const answer = await send(`${url}/notes`, { headers })
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.json.code).toBe('request.unsupported_version')
    expect(answer.text).not.toContain('passwd')
    const event = events.find(
      (e) => e.requestId === answer.headers['x-request-id'] && e.type === 'version.unsupported',
    )
    expect(event?.severity).toBe('warn')
  })

  it('reads the version from the first path segment', async () => {
    expect((await send(`${url}/v1/items`)).json).toEqual({ version: '1' })
    expect((await send(`${url}/v2/items`)).json).toEqual({ version: '2' })
    const unknown = await send(`${url}/v3/items`)
    expect(unknown.status).toBe(400)
    expect(unknown.json.code).toBe('request.unsupported_version')
  })

  it('refuses a request that names no version where there is no default', async () => {
    const answer = await send(`${url}/items`)
    expect(answer.status).toBe(400)
    expect(answer.json.detail).toContain('names no API version')
  })
})

describe.each(harnesses)('$name: apiVersion() from the path on a router that ignores case', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      routing: { caseSensitive: false, strictSlash: false },
      routes: [
        {
          method: 'GET',
          path: '/v1/items',
          guards: [apiVersion({ supported: ['1', '2'], from: ['path'] })],
          handler: ({ state }) => ({ body: { version: state(kApiVersion) ?? null } }),
        },
      ],
    })
  })
  afterAll(() => server.close())

  it('reads the version of every spelling that reaches the route', async () => {
    for (const path of ['/v1/items', '/V1/items', '/v1/ITEMS/']) {
      const answer = await send(`${server.url}${path}`)
      expect(answer.json, path).toEqual({ version: '1' })
    }
  })
})
