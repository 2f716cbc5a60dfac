import type { Guard } from '@apiward/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from './client.js'
import type { RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

const echoesFacts: Guard = (ctx) => {
  const { req } = ctx
  ctx.setHeader('X-Protocol', req.protocol)
  ctx.setHeader('X-Secure', String(req.secure))
  ctx.setHeader('X-Host', req.host ?? '(none)')
  ctx.setHeader('X-Content-Type', req.contentType ?? '(none)')
  ctx.setHeader('X-Is-Json', String(req.is('+json')))
}

const routes = [
  { method: 'GET' as const, path: '/facts', guards: [echoesFacts] },
  { method: 'POST' as const, path: '/facts', guards: [echoesFacts] },
]

describe.each(harnesses)('$name adapter: request facts', (harness) => {
  let direct: RunningServer
  let proxied: RunningServer
  beforeAll(async () => {
    direct = await harness.start({ routes })
    proxied = await harness.start({ routes, trustProxy: 1 })
  })
  afterAll(async () => {
    await direct.close()
    await proxied.close()
  })

  it('reads protocol and host from the connection and the Host header', async () => {
    const answer = await send(`${direct.url}/facts`, { headers: { Host: 'API.Example.com:8443' } })
    expect(answer.status).toBe(200)
    expect(answer.headers['x-protocol']).toBe('http')
    expect(answer.headers['x-secure']).toBe('false')
    expect(answer.headers['x-host']).toBe('api.example.com:8443')
  })

  it('ignores X-Forwarded-Proto and X-Forwarded-Host when no proxy is trusted', async () => {
    const answer = await send(`${direct.url}/facts`, {
      headers: { Host: 'api.example.com', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' },
    })
    expect(answer.headers['x-protocol']).toBe('http')
    expect(answer.headers['x-host']).toBe('api.example.com')
  })

  it('takes X-Forwarded-Proto and X-Forwarded-Host from a trusted proxy', async () => {
    const answer = await send(`${proxied.url}/facts`, {
      headers: { Host: 'internal:8080', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'api.example.com' },
    })
    expect(answer.headers['x-protocol']).toBe('https')
    expect(answer.headers['x-secure']).toBe('true')
    expect(answer.headers['x-host']).toBe('api.example.com')
  })

  it('lets the host of an absolute-form target win over Host', async () => {
    const answer = await send(`${direct.url}/`, {
      target: 'http://user@Target.Example:9000/facts',
      headers: { Host: 'api.example.com' },
    })
    expect(answer.status).toBe(200)
    expect(answer.headers['x-host']).toBe('target.example:9000')
  })

  it.each([
    ['Application/JSON; charset=utf-8', 'application/json', 'true'],
    ['application/merge-patch+json', 'application/merge-patch+json', 'true'],
    ['text/plain', 'text/plain', 'false'],
    ['json', '(none)', 'false'],
  ])('reads the media type of Content-Type %s', async (contentType, expected, isJson) => {
    const answer = await send(`${direct.url}/facts`, {
      method: 'POST',
      headers: { 'Content-Type': contentType },
      body: '{}',
    })
    expect(answer.headers['x-content-type']).toBe(expected)
    expect(answer.headers['x-is-json']).toBe(isJson)
  })
})
