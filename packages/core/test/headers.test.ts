import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { configureWarnings, headerList, mergeListHeader, resetWarnings } from '@apiward/core'
import { hookWriteHead } from '@apiward/core/adapter'
import { describe, expect, it, vi } from 'vitest'
import { testContext } from './support.js'

describe('headerList', () => {
  it('lower-cases names once and freezes the list', () => {
    const list = headerList({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
    expect(list).toEqual([
      ['cache-control', 'no-store'],
      ['x-content-type-options', 'nosniff'],
    ])
    expect(Object.isFrozen(list)).toBe(true)
    expect(headerList([['Vary', 'Origin']])).toEqual([['vary', 'Origin']])
  })

  it.each([
    [{ 'Bad Name': 'x' }, /not a header name/],
    [{ 'X-A': 'a\r\nSet-Cookie: x' }, /without control characters/],
    [{ 'X-A': 1 }, /must be a string/],
  ])('refuses %j at startup', (headers, message) => {
    expect(() => headerList(headers as never, 'secureHeaders()')).toThrow(message)
  })
})

describe('mergeListHeader', () => {
  it.each([
    [undefined, ['Origin'], 'Origin'],
    ['Accept', ['Origin'], 'Accept, Origin'],
    ['accept, origin', ['Origin', 'Accept-Encoding'], 'accept, origin, Accept-Encoding'],
    [['Accept', 'Cookie'], ['Origin'], 'Accept, Cookie, Origin'],
    ['*', ['Origin'], '*'],
    ['Accept', ['*'], '*'],
    ['Accept', ['Origin, Accept'], 'Accept, Origin'],
  ])('merges %j with %j into %s', (existing, additions, expected) => {
    expect(mergeListHeader(existing, additions)).toBe(expected)
  })
})

describe('SecurityContext headers', () => {
  it('sets a precomputed list through the binding', () => {
    const ctx = testContext()
    ctx.setHeaders(headerList({ 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY' }))
    expect(ctx.binding.headers).toEqual({ 'cache-control': 'no-store', 'x-frame-options': 'DENY' })
  })

  it('drops a list member with control characters and warns once', () => {
    resetWarnings()
    const warn = vi.fn()
    configureWarnings({ logger: warn })
    const ctx = testContext()
    const applied: Record<string, string> = {}
    ctx.appendHeader('Vary', 'Origin\r\nX: y')
    ctx.appendHeader('Vary', 'Origin')
    ctx.applySendHeaders({
      getHeader: () => undefined,
      setHeader: (n, v) => {
        applied[n] = v
      },
      removeHeader: () => {},
    })
    expect(applied).toEqual({ vary: 'Origin' })
    configureWarnings()
    expect(warn).toHaveBeenCalledTimes(1)
    expect(String(warn.mock.calls[0]![1])).toMatch(/not sent/)
  })
})

async function serve(
  handler: Parameters<typeof createServer>[1],
): Promise<{ get: () => Promise<Record<string, unknown>>; close: () => void }> {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    get: async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`)
      await res.text()
      return Object.fromEntries(res.headers)
    },
    close: () => server.close(),
  }
}

describe('hookWriteHead', () => {
  it('merges list headers with what the handler set later, and applies removals at send time', async () => {
    const server = await serve((_req, res) => {
      const ctx = testContext()
      ctx.binding.hookSendHeaders = () => hookWriteHead(res, ctx)
      ctx.appendHeader('Vary', 'Origin')
      ctx.removeHeader('X-Powered-By')
      // What a handler or the framework does after the guards ran:
      res.setHeader('Vary', 'Accept')
      res.setHeader('X-Powered-By', 'Express')
      res.end('ok')
    })
    const headers = await server.get()
    server.close()
    expect(headers.vary).toBe('Accept, Origin')
    expect(headers['x-powered-by']).toBeUndefined()
  })

  it('merges into the headers a framework passes to writeHead itself', async () => {
    const server = await serve((_req, res) => {
      const ctx = testContext()
      ctx.binding.hookSendHeaders = () => hookWriteHead(res, ctx)
      ctx.appendHeader('Vary', 'Origin')
      res.writeHead(200, { vary: 'Accept-Encoding', 'content-type': 'text/plain' })
      res.end('ok')
    })
    const headers = await server.get()
    server.close()
    expect(headers.vary).toBe('Accept-Encoding, Origin')
  })

  it('hooks the response only once, whatever the number of headers', () => {
    const ctx = testContext()
    const hook = vi.fn()
    ctx.binding.hookSendHeaders = hook
    ctx.appendHeader('Vary', 'Origin')
    ctx.appendHeader('Link', '</a>; rel=next')
    ctx.removeHeader('Server')
    expect(hook).toHaveBeenCalledTimes(1)
  })
})
