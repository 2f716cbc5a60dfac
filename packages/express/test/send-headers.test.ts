import { createServer, ServerResponse as NodeServerResponse, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defineGuard } from '@apiward/core'
import { hookWriteHeadInPrototype } from '@apiward/core/adapter'
import { errorHandler, guard, stateOf } from '@apiward/express'
import express from 'express'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'

const closers: Array<() => void> = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

async function serve(listener: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(listener)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Removes X-Powered-By and appends `Vary: Origin`: both are applied when the headers are written. */
const sendHeaders = defineGuard(
  (ctx) => {
    ctx.removeHeader('x-powered-by')
    ctx.appendHeader('vary', 'Origin')
  },
  { guardName: 'sendHeaders', kind: 'headers' },
)

describe.each([
  ['express 5', express],
  ['express 4', express4 as unknown as typeof express],
])('headers applied at writeHead on %s', (_name, factory) => {
  it('keeps nothing on the request or the response, and applies removals and list headers', async () => {
    const app = factory()
    const added: string[] = []
    app.get('/x', guard(sendHeaders), (req, res) => {
      for (const target of [req, res])
        added.push(
          ...Reflect.ownKeys(target)
            .map(String)
            .filter((k) => k.includes('apiward')),
        )
      if (Object.hasOwn(res, 'writeHead')) added.push('res.writeHead')
      res.json({ ok: true })
    })
    app.get('/plain', (_req, res) => {
      res.json({ ok: true })
    })
    app.use(errorHandler())
    const url = await serve(app)
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${url}/x`)
      expect(answer.status).toBe(200)
      expect(answer.headers.get('x-powered-by')).toBeNull()
      expect(answer.headers.get('vary')).toBe('Origin')
      expect(answer.headers.get('x-request-id')).toMatch(/^[\w-]+$/)
    }
    expect(added).toEqual([])
    // A route of the same app without the guard is left as Express answers it.
    const plain = await fetch(`${url}/plain`)
    expect(plain.headers.get('x-powered-by')).toBe('Express')
    expect(plain.headers.get('vary')).toBeNull()
  })

  it("applies them to the parent app's error answer of a request a mounted app's guard let through", async () => {
    const app = factory()
    const sub = factory()
    sub.get('/boom', guard(sendHeaders), () => {
      throw Object.assign(new Error('nope'), { status: 404, expose: true })
    })
    app.use('/sub', sub)
    app.use(errorHandler())
    const url = await serve(app)
    const answer = await fetch(`${url}/sub/boom`)
    expect(answer.status).toBe(404)
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(answer.headers.get('x-powered-by')).toBeNull()
    expect(answer.headers.get('vary')).toBe('Origin')
  })

  it('applies them behind a middleware that wrapped res.writeHead first (on-headers style)', async () => {
    const app = factory()
    let wrapped = 0
    app.use((_req, res, next) => {
      const writeHead = res.writeHead
      res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
        wrapped++
        this.setHeader('x-wrapped', 'yes')
        return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
      } as typeof res.writeHead
      next()
    })
    app.get('/x', guard(sendHeaders), (_req, res) => {
      res.json({ ok: true })
    })
    const url = await serve(app)
    const answer = await fetch(`${url}/x`)
    expect(answer.headers.get('x-wrapped')).toBe('yes')
    expect(answer.headers.get('x-powered-by')).toBeNull()
    expect(answer.headers.get('vary')).toBe('Origin')
    expect(wrapped).toBe(1)
  })

  it('keeps the state guards stored for the handler, beside the request', async () => {
    const app = factory()
    const key = Symbol('k') as never
    const store = defineGuard((ctx) => ctx.set(key, 'stored'), { guardName: 'store' })
    app.get('/x', guard(store), (req, res) => {
      res.json({ state: stateOf(req, key) })
    })
    const url = await serve(app)
    expect(await (await fetch(`${url}/x`)).json()).toEqual({ state: 'stored' })
  })
})

describe('hookWriteHeadInPrototype() on a plain Node response', () => {
  it("hooks the response itself, never Node's own ServerResponse.prototype", async () => {
    const { SecurityContext } = await import('@apiward/core')
    const { NodeBinding } = await import('@apiward/core/adapter')
    class PrototypeBinding extends NodeBinding {
      override hookSendHeaders(ctx: InstanceType<typeof SecurityContext>): void {
        hookWriteHeadInPrototype(this.res, ctx)
      }
    }
    const nodeWriteHead = NodeServerResponse.prototype.writeHead
    const url = await serve((_req, res) => {
      const ctx = new SecurityContext({ method: 'GET' } as never, new PrototypeBinding(res), {
        requestId: 'r',
      })
      res.setHeader('x-drop', 'yes')
      ctx.removeHeader('x-drop')
      res.end(Object.hasOwn(res, 'writeHead') ? 'own' : 'prototype')
    })
    const answer = await fetch(url)
    expect(await answer.text()).toBe('own')
    expect(answer.headers.get('x-drop')).toBeNull()
    expect(NodeServerResponse.prototype.writeHead).toBe(nodeWriteHead)
  })
})
