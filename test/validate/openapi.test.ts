import { fileURLToPath } from 'node:url'
import { type Deprecation, kDeprecation } from '@apiward/core'
import { apiVersion } from '@apiward/headers'
import { kOperation, kValidated, type OpenApiGuard, openapi } from '@apiward/validate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RouteSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { notes31 } from './fixtures/notes-3.1.js'

const yaml30 = fileURLToPath(new URL('./fixtures/notes-3.0.yaml', import.meta.url))
const json = (value: unknown) => JSON.stringify(value)

const stored = {
  id: 'note-1',
  title: 't',
  body: null,
  tags: ['a'],
  ownerId: 'alice',
  ownerEmail: 'alice@example.test',
  moderation: { flagged: false },
}

/** The routes of the document, each answering what the handler saw. */
function routesFor(): RouteSpec[] {
  const seen = (input: { state: <T>(key: import('@apiward/core').StateKey<T>) => T | undefined }) => ({
    operation: input.state(kOperation)?.operationId ?? null,
    validated: input.state(kValidated) ?? null,
    deprecation: (input.state(kDeprecation) as Deprecation | undefined)?.since ?? null,
  })
  return [
    {
      method: 'GET',
      path: '/notes',
      // The response schema lists only `items`: what the handler saw travels in a header.
      handler: (i) => ({ body: { items: [stored], seen: seen(i) }, headers: { 'X-Seen': json(seen(i)) } }),
    },
    { method: 'POST', path: '/notes', handler: (i) => ({ status: 201, body: { ...stored, seen: seen(i) } }) },
    { method: 'GET', path: '/notes/mine', handler: (i) => ({ body: seen(i) }) },
    { method: 'GET', path: '/notes/:id', handler: () => ({ body: stored }) },
    { method: 'DELETE', path: '/notes/:id', handler: (i) => ({ status: 200, body: seen(i) }) },
    { method: 'GET', path: '/undocumented', handler: () => ({ body: { served: true } }) },
  ]
}

describe('openapi() loading', () => {
  it('loads a 3.0 YAML file and a 3.1 object and lists their operations', async () => {
    const from30 = await openapi(yaml30)
    expect(from30.operations.map((o) => `${o.method} ${o.path}`)).toEqual([
      'GET /notes',
      'POST /notes',
      'GET /notes/{id}',
      'DELETE /notes/{id}',
      'GET /notes/mine',
    ])
    expect(from30.operations.find((o) => o.method === 'DELETE')?.deprecated).toBe(true)
    const from31 = await openapi(notes31)
    expect(from31.operations.map((o) => o.operationId)).toEqual(['createNote', 'getNote'])
  })

  it('refuses an invalid document at startup, naming the problem', async () => {
    await expect(openapi({ openapi: '3.1.0', paths: {} })).rejects.toThrow(
      /openapi\(\): the document is not a valid OpenAPI document/,
    )
    await expect(openapi({ swagger: '2.0', info: { title: 't', version: '1' }, paths: {} })).rejects.toThrow(
      /only OpenAPI 3\.0 and 3\.1/,
    )
  })

  it('refuses a schema that ajv strict mode refuses, naming the operation', async () => {
    const doc = structuredClone(notes31) as any
    doc.paths['/notes'].post.requestBody.content['application/json'].schema = {
      type: 'object',
      minLength: 'x',
    }
    await expect(openapi(doc)).rejects.toThrow(/POST \/notes: body/)
  })

  it('refuses unknown options with the option named', async () => {
    await expect(openapi(notes31, { unknownRoute: 'pass' } as never)).rejects.toThrow(
      /did you mean "unknownRoutes"/,
    )
    await expect(openapi(notes31, { unknownRoutes: 'ignore' } as never)).rejects.toThrow(/'refuse' or 'pass'/)
  })

  it('does not follow a $ref to another file unless asked', async () => {
    const doc = structuredClone(notes31) as any
    doc.components.schemas.Id = { $ref: './elsewhere.json#/Id' }
    await expect(openapi(doc)).rejects.toThrow(TypeError)
  })
})

describe.each(harnesses)('$name adapter: openapi()', (harness) => {
  let v30: RunningServer
  let v31: RunningServer
  let passing: RunningServer
  beforeAll(async () => {
    const [a, b, c]: OpenApiGuard[] = await Promise.all([
      openapi(yaml30),
      openapi(notes31),
      openapi(yaml30, { unknownRoutes: 'pass' }),
    ])
    v30 = await harness.start({ routes: routesFor(), appGuards: [a!], bodyParser: false })
    v31 = await harness.start({ routes: routesFor(), appGuards: [b!], bodyParser: false })
    passing = await harness.start({ routes: routesFor(), appGuards: [c!], bodyParser: false })
  })
  afterAll(async () => {
    await Promise.all([v30.close(), v31.close(), passing.close()])
  })

  const post = (url: string, body: string) =>
    send(`${url}/notes`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })

  it('validates the body against a $ref schema and filters the answer to the documented note', async () => {
    const answer = await post(v30.url, json({ title: 'hello', body: null }))
    expect(answer.status).toBe(201)
    expect(answer.json).toEqual({ id: 'note-1', title: 't', body: null, tags: ['a'], ownerId: 'alice' })
  })

  it('refuses an unknown body property and a missing required body', async () => {
    const extra = await post(v30.url, json({ title: 'x', isAdmin: true }))
    expect(extra.status).toBe(400)
    expect(extra.json.errors[0]).toMatchObject({
      in: 'body',
      pointer: '/isAdmin',
      keyword: 'additionalProperties',
    })
    const none = await send(`${v31.url}/notes`, { method: 'POST', headers: { 'Content-Length': '0' } })
    expect(none.status).toBe(400)
    expect(none.json.errors[0]).toMatchObject({ in: 'body', keyword: 'required' })
  })

  it('coerces and defaults a query parameter and refuses an unknown one', async () => {
    const ok = await send(`${v30.url}/notes?limit=5`)
    expect(ok.status).toBe(200)
    expect(JSON.parse(String(ok.headers['x-seen'])).validated.query).toEqual({ limit: 5 })
    expect(ok.json).toEqual({
      items: [{ id: 'note-1', title: 't', body: null, tags: ['a'], ownerId: 'alice' }],
    })
    const defaulted = await send(`${v30.url}/notes`)
    expect(JSON.parse(String(defaulted.headers['x-seen'])).validated.query).toEqual({ limit: 20 })
    const unknown = await send(`${v30.url}/notes?limit=5&debug=1`)
    expect(unknown.status).toBe(400)
    expect(unknown.json.errors[0]).toMatchObject({ in: 'query', pointer: '/debug' })
    const big = await send(`${v30.url}/notes?limit=3000000000`)
    expect(big.status).toBe(400)
  })

  it('checks path parameters through a $ref and prefers a literal path', async () => {
    const bad = await send(`${v31.url}/notes/..%2Fetc`)
    expect(bad.status).toBe(400)
    expect(bad.json.errors[0]).toMatchObject({ in: 'params', pointer: '/id', keyword: 'pattern' })
    const mine = await send(`${v30.url}/notes/mine`)
    expect(mine.status).toBe(200)
    expect(mine.json.operation).toBe('myNotes')
  })

  it('checks declared headers', async () => {
    const long = await send(`${v31.url}/notes/note-1`, { headers: { 'X-Trace': 'x'.repeat(17) } })
    expect(long.status).toBe(400)
    expect(long.json.errors[0]).toMatchObject({ in: 'headers', pointer: '/x-trace', keyword: 'maxLength' })
    const ok = await send(`${v31.url}/notes/note-1`, { headers: { 'X-Trace': 'abc' } })
    expect(ok.status).toBe(200)
    expect(ok.json).toEqual({ id: 'note-1', title: 't' })
  })

  it('reports a deprecated operation through the deprecation key', async () => {
    const answer = await send(`${v30.url}/notes/note-1`, { method: 'DELETE' })
    expect(answer.status).toBe(200)
    expect(answer.json).toMatchObject({ operation: 'deleteNote', deprecation: true })
  })

  it('refuses an undocumented route by default and passes it when configured', async () => {
    const refused = await send(`${v30.url}/undocumented`)
    expect(refused.status).toBe(404)
    expect(refused.json.code).toBe('route.not_found')
    const method = await send(`${v31.url}/notes`)
    expect(method.status).toBe(405)
    expect(method.headers.allow).toBe('POST')
    const passed = await send(`${passing.url}/undocumented`)
    expect(passed.status).toBe(200)
    expect(passed.json).toEqual({ served: true })
  })

  it('checks every spelling of a documented path that the router serves, even when passing unknown routes', async () => {
    for (const path of ['/no%74es?limit=abc', '/NOTES?limit=abc', '/notes/?limit=abc', '/notes?limit=abc']) {
      const answer = await send(`${passing.url}${path}`)
      expect(answer.status, path).not.toBe(200)
      expect([400, 404], path).toContain(answer.status)
    }
    expect((await send(`${passing.url}/notes?limit=abc`)).status).toBe(400)
  })
})

describe.each(harnesses)('$name adapter: openapi() with apiVersion()', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    const api = await openapi(yaml30)
    server = await harness.start({
      routes: routesFor(),
      appGuards: [api, apiVersion({ supported: ['1'], default: '1' })],
      bodyParser: false,
    })
  })
  afterAll(async () => {
    await server.close()
  })

  it('announces a deprecated operation with Deprecation and leaves the others alone', async () => {
    const deprecated = await send(`${server.url}/notes/note-1`, { method: 'DELETE' })
    expect(deprecated.status).toBe(200)
    expect(deprecated.headers.deprecation).toBeDefined()
    const current = await send(`${server.url}/notes/note-1`)
    expect(current.status).toBe(200)
    expect(current.headers.deprecation).toBeUndefined()
  })
})
