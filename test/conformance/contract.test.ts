import { answerNow, createKey, defineGuard, type Guard, headerList } from '@apiward/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from './client.js'
import type { RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

const kTenant = createKey<{ id: string }>('tenant')

const PREFLIGHT = answerNow(204, {
  headers: { 'Access-Control-Allow-Origin': 'https://app.example', 'Access-Control-Max-Age': '600' },
})
const setsOwnHeader: Guard = (ctx) => ctx.setHeader('X-Guard', 'ran')
const preflight: Guard = (ctx) => {
  if (ctx.req.method === 'OPTIONS' || ctx.req.header('x-preflight') === '1') throw PREFLIGHT
}
const toHttps: Guard = (ctx) => {
  if (!ctx.req.secure)
    throw answerNow(308, { headers: { Location: `https://${ctx.req.host}${ctx.req.rawPath}` } })
}
const answersJson: Guard = () => {
  throw answerNow(200, { body: { answered: 'by a guard' } })
}
const SECURE = headerList({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
const secureHeaders: Guard = (ctx) => {
  ctx.setHeaders(SECURE)
  ctx.appendHeader('Vary', 'Origin')
  ctx.removeHeader('X-Powered-By')
}
const filtersOk: Guard = (ctx) =>
  ctx.onSend((body, _ctx, status) => (status === 200 ? { filtered: true } : body))
const loadsTenant: Guard = defineGuard((ctx) => ctx.set(kTenant, { id: 't-1' }), { guardName: 'loadsTenant' })

describe.each(harnesses)('$name adapter: the core contract', (harness) => {
  let server: RunningServer
  let handlerRan = 0
  beforeAll(async () => {
    server = await harness.start({
      routes: [
        {
          method: 'GET',
          path: '/preflight',
          guards: [setsOwnHeader, preflight],
          handler: () => {
            handlerRan++
            return { body: { handler: true } }
          },
        },
        { method: 'GET', path: '/https', guards: [toHttps] },
        { method: 'GET', path: '/answers-json', guards: [answersJson] },
        {
          method: 'GET',
          path: '/headers',
          guards: [secureHeaders],
          handler: () => ({ headers: { Vary: 'Accept', 'X-Powered-By': 'handler' }, body: { ok: true } }),
        },
        {
          method: 'GET',
          path: '/filtered/:status',
          guards: [filtersOk],
          handler: ({ params }) => ({ status: Number(params.status), body: { secret: 's' } }),
        },
        {
          method: 'GET',
          path: '/state',
          guards: [loadsTenant],
          handler: ({ state }) => ({ body: { tenant: state(kTenant) ?? null } }),
        },
        {
          method: 'GET',
          path: '/no-state',
          handler: ({ state }) => ({ body: { tenant: state(kTenant) ?? null } }),
        },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
  })

  it('lets a guard answer now: the handler never runs and the headers other guards set stay', async () => {
    const answer = await send(`${server.url}/preflight`, { headers: { 'X-Preflight': '1' } })
    expect(answer.status).toBe(204)
    expect(answer.text).toBe('')
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(answer.headers['access-control-max-age']).toBe('600')
    expect(answer.headers['x-guard']).toBe('ran')
    expect(answer.headers['x-request-id']).toBeTruthy()
    expect(handlerRan).toBe(0)
    expect((await send(`${server.url}/preflight`)).status).toBe(200)
    expect(handlerRan).toBe(1)
  })

  it('answers a redirect built from the request facts', async () => {
    const answer = await send(`${server.url}/https`, { headers: { Host: 'api.example.com' } })
    expect(answer.status).toBe(308)
    expect(answer.headers.location).toBe('https://api.example.com/https')
  })

  it('sends an answer body with its content type', async () => {
    const answer = await send(`${server.url}/answers-json`)
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toMatch(/^application\/json/)
    expect(answer.json).toEqual({ answered: 'by a guard' })
  })

  it('keeps a precomputed header list, merges list headers with the handler’s own and removes what a guard removed', async () => {
    const answer = await send(`${server.url}/headers`)
    expect(answer.status).toBe(200)
    expect(answer.headers['cache-control']).toBe('no-store')
    expect(answer.headers['x-content-type-options']).toBe('nosniff')
    expect(answer.headers.vary).toBe('Accept, Origin')
    expect(answer.headers['x-powered-by']).toBeUndefined()
  })

  it('hands transformers the status, so a filter for a 200 leaves a 404 alone', async () => {
    expect((await send(`${server.url}/filtered/200`)).json).toEqual({ filtered: true })
    const notFound = await send(`${server.url}/filtered/404`)
    expect(notFound.status).toBe(404)
    expect(notFound.json).toEqual({ secret: 's' })
  })

  it('hands the handler what a guard stored under a typed key, through stateOf()', async () => {
    expect((await send(`${server.url}/state`)).json).toEqual({ tenant: { id: 't-1' } })
    expect((await send(`${server.url}/no-state`)).json).toEqual({ tenant: null })
  })
})

describe.each(harnesses)('$name adapter: answers with forwardErrors', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      forwardErrors: true,
      routes: [
        { method: 'GET', path: '/preflight', guards: [setsOwnHeader, preflight] },
        { method: 'GET', path: '/https', guards: [toHttps] },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
  })

  it('writes an answer handed to the error handling like one written at once', async () => {
    const answer = await send(`${server.url}/preflight`, { headers: { 'X-Preflight': '1' } })
    expect(answer.status).toBe(204)
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example')
    expect(answer.headers['x-guard']).toBe('ran')
    const redirect = await send(`${server.url}/https`, { headers: { Host: 'api.example.com' } })
    expect(redirect.status).toBe(308)
    expect(redirect.headers.location).toBe('https://api.example.com/https')
  })
})
