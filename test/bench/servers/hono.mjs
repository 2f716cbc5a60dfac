// Hono 4 on @hono/node-server: the bare route, the route behind @apiward/hono guard(), the limit
// servers and the peers.
import { readFileSync } from 'node:fs'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { routeOf, stackByName } from '../stacks.mjs'
import { adapterOptions, apiwardGuards, DENIED, limitParts } from './common.mjs'

// hono's exports map does not list its package.json
export const version = JSON.parse(
  readFileSync(new URL('../../node_modules/hono/package.json', import.meta.url)),
).version

/** The handler answering `body` as JSON. */
const answer = (body) => (c) => c.json(body)

/** Where a limit that reads the client IP puts it, so the read is not optimised away. */
export let lastIp

export async function build(name, config) {
  // Hono's defaults are the contract's routing already: case-sensitive, strict about trailing slashes.
  const app = new Hono()
  const stack = stackByName.get(name)
  const { route, body } = routeOf(stack)
  const handler = answer(body)
  if (name === 'bare') {
    app.get(route, handler)
  } else if (name === 'noop') {
    app.get(route, (_c, next) => next(), handler)
  } else if (stack.limitOf) {
    const { headers, refresh, work, readsIp, readsParams } = await limitParts(name, config)
    const limit = (c, next) => {
      if (refresh !== undefined) refresh()
      for (let i = 0; i < headers.length; i++) c.header(headers[i][0], headers[i][1])
      if (readsIp) lastIp = c.env.incoming.socket.remoteAddress
      if (work !== undefined) {
        const principal = work(c.req.header('authorization'), readsParams ? c.req.param() : undefined)
        if (principal === undefined) return c.json(DENIED, 401)
        c.set('auth', principal)
      }
      return next()
    }
    app.get(route, limit, handler)
  } else if (stack.install) {
    await stack.install.hono(app, config, handler)
  } else {
    const { createGuard, errorHandler, notFound } = await import('@apiward/hono')
    const guard = createGuard(adapterOptions(name))
    app.get(route, guard(...(await apiwardGuards(name, config))), handler)
    app.onError(errorHandler(adapterOptions(name)))
    app.notFound(notFound(app, adapterOptions(name)))
  }
  return getRequestListener(app.fetch)
}
