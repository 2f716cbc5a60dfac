import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { validateRoutes } from './routes.js'

const json = (value: unknown) => JSON.stringify(value)

describe.each(harnesses)('$name adapter: validate()', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({ routes: validateRoutes, bodyParser: false })
  })
  afterAll(async () => {
    await server.close()
  })

  const post = (path: string, body: string, headers: Record<string, string> = {}, method = 'POST') =>
    send(`${server.url}${path}`, {
      method,
      body,
      headers: { 'Content-Type': 'application/json', ...headers },
    })

  it('hands the handler the validated body, with declared defaults, as the framework body and the typed state', async () => {
    const answer = await post('/notes', json({ title: 'hello' }))
    expect(answer.status).toBe(201)
    expect(answer.json).toEqual({
      body: { title: 'hello', body: '' },
      validated: { title: 'hello', body: '' },
      same: true,
    })
  })

  it('refuses an unknown property with a 400 naming it in the body', async () => {
    const answer = await post('/notes', json({ title: 'x', isAdmin: true }))
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.json.code).toBe('validation.rejected')
    expect(answer.json.errors).toEqual([
      {
        in: 'body',
        pointer: '/isAdmin',
        message: 'must NOT have additional properties',
        keyword: 'additionalProperties',
      },
    ])
  })

  it('reports the first violation only, without echoing the value', async () => {
    const answer = await post('/notes', json({ title: 'secret-value-123'.repeat(20), tags: [5] }))
    expect(answer.status).toBe(400)
    expect(answer.json.errors).toHaveLength(1)
    expect(answer.text).not.toContain('secret-value-123')
  })

  it('coerces path parameters to what the schema declares and refuses a traversal id', async () => {
    const ok = await post('/notes/note-1', json({ title: 'x' }), {}, 'PATCH')
    expect(ok.status).toBe(200)
    expect(ok.json).toMatchObject({ params: { id: 'note-1' }, body: { title: 'x', body: '' } })
    const bad = await post('/notes/..%2F..%2Fetc%2Fpasswd', json({ title: 'x' }), {}, 'PATCH')
    expect(bad.status).toBe(400)
    expect(bad.json.errors[0]).toMatchObject({ in: 'params', pointer: '/id', keyword: 'pattern' })
  })

  it('refuses a missing parameter or header whose name every object inherits (toString, constructor)', async () => {
    const param = await send(`${server.url}/inherited/abc`)
    expect(param.status).toBe(400)
    expect(param.json.errors[0]).toMatchObject({ in: 'params', keyword: 'required' })
    const header = await send(`${server.url}/inherited-header`)
    expect(header.status).toBe(400)
    expect(header.json.errors[0]).toMatchObject({ in: 'headers', keyword: 'required' })
    const given = await send(`${server.url}/inherited-header`, { headers: { constructor: 'x' } })
    expect(given.status).toBe(200)
    expect(given.json.headers).toEqual({ constructor: 'x' })
  })

  it('checks the path parameters before it reads the body', async () => {
    const answer = await post('/notes/BAD_ID', '{not json', {}, 'PATCH')
    expect(answer.status).toBe(400)
    expect(answer.json.code).toBe('validation.rejected')
    expect(answer.json.errors[0].in).toBe('params')
  })

  it('coerces a query integer, applies its default and refuses unknown parameters', async () => {
    expect((await send(`${server.url}/notes?limit=10`)).json.query).toEqual({ limit: 10 })
    expect((await send(`${server.url}/notes`)).json.query).toEqual({ limit: 20 })
    const unknown = await send(`${server.url}/notes?limit=10&admin=1`)
    expect(unknown.status).toBe(400)
    expect(unknown.json.errors[0]).toMatchObject({
      in: 'query',
      pointer: '/admin',
      keyword: 'additionalProperties',
    })
  })

  it('refuses a repeated scalar query parameter and accepts a repeated array one', async () => {
    const polluted = await send(`${server.url}/notes?limit=1&limit=2`)
    expect(polluted.status).toBe(400)
    expect(polluted.json.errors[0]).toMatchObject({ in: 'query', pointer: '/limit' })
    expect((await send(`${server.url}/notes?tag=a&tag=b`)).json.query).toEqual({ limit: 20, tag: ['a', 'b'] })
    expect((await send(`${server.url}/notes?tag=a`)).json.query).toEqual({ limit: 20, tag: ['a'] })
  })

  it('refuses query values that are not what the schema says', async () => {
    for (const query of [
      'limit=abc',
      'limit=1.5',
      'limit=0',
      'limit=1e3',
      'limit[$gt]=1',
      '__proto__[x]=1',
    ]) {
      const answer = await send(`${server.url}/notes?${query}`)
      expect(answer.status, query).toBe(400)
      expect(answer.json.in ?? answer.json.errors[0].in, query).toBe('query')
    }
  })

  it('puts the coerced query in the place of the framework where the framework allows it', async () => {
    const answer = await send(`${server.url}/notes?limit=10`)
    const coerced = harness.framework === 'express' || harness.framework === 'fastify'
    expect(answer.json.framework).toEqual({ limit: coerced ? 10 : '10' })
  })

  it('coerces a declared header and refuses a value outside its enum', async () => {
    const ok = await send(`${server.url}/versioned`, { headers: { 'Api-Version': '1' } })
    expect(ok.json).toEqual({ headers: { 'api-version': 1 } })
    const bad = await send(`${server.url}/versioned`, { headers: { 'Api-Version': '3' } })
    expect(bad.status).toBe(400)
    expect(bad.json.errors[0]).toMatchObject({ in: 'headers', pointer: '/api-version', keyword: 'enum' })
  })

  it('lets only the declared properties of a response leave the server, recursively', async () => {
    const answer = await send(`${server.url}/notes/note-1`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ id: 'note-1', title: 't', owner: { id: 'alice' }, tags: ['a'] })
  })
})
