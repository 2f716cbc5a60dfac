// Express 5: the bare route, the route behind @apiward/express guard(), the limit servers, the
// peers and the popular stack.
import { createRequire } from 'node:module'
import express from 'express'
import { AUDIENCE, BODY, ISSUER, routeOf, stackByName } from '../stacks.mjs'
import {
  adapterOptions,
  apiwardGuards,
  casbinEnforcer,
  DENIED,
  limitParts,
  nullLogger,
  queryValidator,
} from './common.mjs'

export const version = createRequire(import.meta.url)('express/package.json').version

/** The handler answering `body` as JSON. */
const answer = (body) => (_req, res) => {
  res.json(body)
}

/** Where a limit that reads the client IP puts it, so the read is not optimised away. */
export let lastIp

export async function build(name, config) {
  const app = express()
  const stack = stackByName.get(name)
  const { route, body } = routeOf(stack)
  const handler = answer(body)
  if (stack.strictRouting) {
    app.set('case sensitive routing', true)
    app.set('strict routing', true)
  }
  if (name === 'bare') {
    app.get(route, handler)
  } else if (name === 'noop') {
    app.get(route, (_req, _res, next) => next(), handler)
  } else if (name === 'popular') {
    await popular(app, config)
  } else if (stack.limitOf) {
    const { headers, refresh, work, readsIp, readsParams } = await limitParts(name, config)
    const limit = (req, res, next) => {
      if (refresh !== undefined) refresh()
      for (let i = 0; i < headers.length; i++) res.setHeader(headers[i][0], headers[i][1])
      if (readsIp) lastIp = req.ip
      if (work !== undefined) {
        const principal = work(req.headers.authorization, readsParams ? req.params : undefined)
        if (principal === undefined) return res.status(401).json(DENIED)
        req.auth = principal
      }
      next()
    }
    app.get(route, limit, handler)
  } else if (stack.install) {
    await stack.install.express(app, config, handler)
  } else {
    const { createGuard, errorHandler } = await import('@apiward/express')
    const guard = createGuard(adapterOptions(name))
    app.get(route, guard(...(await apiwardGuards(name, config))), handler)
    app.use(errorHandler(adapterOptions(name)))
  }
  return app
}

async function popular(app, config) {
  const { default: helmet } = await import('helmet')
  const { expressjwt } = await import('express-jwt')
  const { rateLimit } = await import('express-rate-limit')
  const { pinoHttp } = await import('pino-http')
  const validate = await queryValidator()
  const enforcer = await casbinEnforcer(config)
  app.use(pinoHttp({ logger: await nullLogger() }))
  app.use(helmet())
  app.use(rateLimit({ windowMs: 60_000, limit: 1e9, standardHeaders: 'draft-8', legacyHeaders: false }))
  app.use(
    expressjwt({ secret: config.keys.RS256.pem, algorithms: ['RS256'], issuer: ISSUER, audience: AUDIENCE }),
  )
  app.get('/hello', async (req, res, next) => {
    try {
      if (!validate({ ...req.query })) return void res.status(400).json({ error: 'bad query' })
      if (!(await enforcer.enforce(req.auth.sub, req.path, req.method))) {
        return void res.status(403).json({ error: 'forbidden' })
      }
      res.json(BODY)
    } catch (err) {
      next(err)
    }
  })
  app.use((err, _req, res, _next) => {
    res.status(err.status ?? 500).json({ error: err.code ?? 'error' })
  })
}
