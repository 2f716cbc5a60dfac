import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { GuardInput } from '@apiward/core'
import * as expressAdapter from '@apiward/express'
import * as fastifyAdapter from '@apiward/fastify'
import * as koaAdapter from '@apiward/koa'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import express5 from 'express'
import express4 from 'express4'
import fastify5 from 'fastify'
import fastify4 from 'fastify4'
import Koa3 from 'koa'
import Koa2 from 'koa2'
import { listen, type RunningServer } from '../conformance/harness.js'

/**
 * One framework at one major version serving `POST /form` behind `guards`, with the framework's
 * own parsers for JSON and `application/x-www-form-urlencoded` bodies (the conformance harness
 * parses JSON only). The handler answers `{ auth }`.
 */
export interface FormHarness {
  name: string
  start(guards: GuardInput[]): Promise<RunningServer>
}

const quiet = { onUnexpectedError: () => {} }

function expressApp(express: typeof express5, guards: GuardInput[]) {
  const app = express()
  const guard = expressAdapter.createGuard(quiet)
  app.use(express.urlencoded({ extended: false }), express.json())
  app.post('/form', guard(...guards), (req, res) => {
    res.json({ auth: req.auth ?? null })
  })
  app.use(expressAdapter.errorHandler(quiet))
  return listen(createServer(app))
}

function koaApp(Koa: typeof Koa3, guards: GuardInput[]) {
  const app = new Koa()
  const router = new Router()
  app.use(koaAdapter.errorHandler(quiet))
  app.use(bodyParser({ enableTypes: ['json', 'form'] }))
  router.post('/form', koaAdapter.createGuard(quiet)(...guards), (ctx) => {
    ctx.body = { auth: ctx.state.auth ?? null }
  })
  app.use(router.routes())
  return listen(createServer(app.callback()))
}

async function fastifyApp(factory: typeof fastify5, guards: GuardInput[]): Promise<RunningServer> {
  const app = factory({ frameworkErrors: fastifyAdapter.frameworkErrors(quiet) })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    // Repeated names become lists, as Express's and Koa's parsers make them.
    const parsed: Record<string, string | string[]> = {}
    for (const [name, value] of new URLSearchParams(body as string)) {
      const seen = parsed[name]
      parsed[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]
    }
    done(null, parsed)
  })
  await app.register(fastifyAdapter.apiward, quiet)
  app.post('/form', { ...fastifyAdapter.createGuard(quiet)(...guards) }, async (request) => ({
    auth: request.auth ?? null,
  }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
}

export const formHarnesses: FormHarness[] = [
  { name: 'express5', start: (guards) => expressApp(express5, guards) },
  { name: 'express4', start: (guards) => expressApp(express4 as unknown as typeof express5, guards) },
  { name: 'koa3', start: (guards) => koaApp(Koa3, guards) },
  { name: 'koa2', start: (guards) => koaApp(Koa2 as unknown as typeof Koa3, guards) },
  { name: 'fastify5', start: (guards) => fastifyApp(fastify5, guards) },
  { name: 'fastify4', start: (guards) => fastifyApp(fastify4 as unknown as typeof fastify5, guards) },
]
