import { type AnySecurityEvent, SecurityEventBus } from '@apiward/core'
import { jsonBody, response, VALIDATE_EVENTS, type ValidateEventType, validate } from '@apiward/validate'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RouteSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const note = {
  type: 'object',
  properties: { id: { type: 'string' }, title: { type: 'string' } },
  required: ['id', 'title'],
} as const

const strictNote = validate({
  body: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { title: { type: 'string', maxLength: 5 }, count: { type: 'integer' } },
    required: ['title'],
  },
  allErrors: true,
  maxErrors: 2,
})
const stripping = validate({
  body: { type: 'object', properties: { title: { type: 'string' } } },
  removeAdditional: true,
})
const trusting = validate({
  body: { type: 'object', properties: { title: { type: 'string' } } },
  json: false,
})

describe('the event list', () => {
  it('names exactly the events of the map', () => {
    expectTypeOf<(typeof VALIDATE_EVENTS)[number]>().toEqualTypeOf<ValidateEventType>()
    expect(VALIDATE_EVENTS).toEqual(['validation.rejected', 'validation.response_drift'])
  })
})

describe.each(harnesses)('$name adapter: events, drafts and options', (harness) => {
  let server: RunningServer
  let behindParser: RunningServer
  const events: AnySecurityEvent[] = []
  const bus = new SecurityEventBus()
  bus.on((event) => {
    events.push(event)
  })
  beforeAll(async () => {
    const routes: RouteSpec[] = [
      {
        method: 'GET',
        path: '/drift',
        guards: [response(note, { checkDrift: true })],
        handler: () => ({ body: { id: 7, secret: 's' } }),
      },
      {
        method: 'POST',
        path: '/strict',
        guards: [strictNote],
        handler: () => ({ body: { ok: true } }),
      },
      {
        method: 'POST',
        path: '/strip',
        guards: [stripping],
        handler: ({ state }) => ({ body: { body: state(stripping.body) } }),
      },
      {
        method: 'POST',
        path: '/trusting',
        guards: [trusting],
        handler: ({ body }) => ({ body: { body } }),
      },
      {
        method: 'POST',
        path: '/parsed',
        guards: [jsonBody()],
        handler: ({ body }) => ({ body: { body } }),
      },
    ]
    server = await harness.start({ routes, bodyParser: false, events: bus })
    behindParser = await harness.start({ routes, events: bus })
  })
  afterAll(async () => {
    await Promise.all([server.close(), behindParser.close()])
  })

  const post = (url: string, path: string, body: string) =>
    send(`${url}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })

  it('emits validation.rejected with the part and the pointers, never the values', async () => {
    events.length = 0
    const answer = await post(server.url, '/strip', JSON.stringify({ title: 5 }))
    expect(answer.status).toBe(400)
    const rejected = events.find((e) => e.type === 'validation.rejected')
    expect(rejected).toMatchObject({
      code: 'validation.rejected',
      part: 'body',
      pointers: ['/title'],
      severity: 'warn',
    })
    expect(JSON.stringify(rejected)).not.toContain('"title":5')
  })

  it('reports response drift as an event and still sends the filtered body', async () => {
    events.length = 0
    const answer = await send(`${server.url}/drift`)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ id: 7 })
    const drift = events.find((e) => e.type === 'validation.response_drift')
    expect(drift).toMatchObject({ status: 200 })
    expect(drift && 'pointers' in drift ? [...drift.pointers].sort() : []).toEqual(['/id', '/title'])
  })

  it('compiles a draft-07 schema and lists at most maxErrors violations with allErrors', async () => {
    const answer = await post(
      server.url,
      '/strict',
      JSON.stringify({ title: 'too long', count: 'x', extra: 1 }),
    )
    expect(answer.status).toBe(400)
    expect(answer.json.errors).toHaveLength(2)
  })

  it('strips unknown properties only when removeAdditional is asked', async () => {
    const answer = await post(server.url, '/strip', JSON.stringify({ title: 'a', isAdmin: true }))
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ body: { title: 'a' } })
  })

  it('validates the body the framework parsed with json: false', async () => {
    const ok = await post(behindParser.url, '/trusting', JSON.stringify({ title: 'a' }))
    expect(ok.status).toBe(200)
    expect(ok.json).toEqual({ body: { title: 'a' } })
    const extra = await post(behindParser.url, '/trusting', JSON.stringify({ title: 'a', isAdmin: true }))
    expect(extra.status).toBe(400)
    expect(extra.json.errors[0].pointer).toBe('/isAdmin')
  })

  it('still checks what a framework parser mounted first has parsed', async () => {
    const ok = await post(behindParser.url, '/parsed', JSON.stringify({ a: [1] }))
    expect(ok.status).toBe(200)
    expect(ok.json).toEqual({ body: { a: [1] } })
    const deep = await post(behindParser.url, '/parsed', '['.repeat(40) + ']'.repeat(40))
    expect(deep.status).toBe(400)
    const poisoned = await post(behindParser.url, '/parsed', '{"constructor":{"prototype":{"x":1}}}')
    expect(poisoned.status).toBe(400)
  })
})
