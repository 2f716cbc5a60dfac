import { createServer } from 'node:http'
import { owner } from '@apiward/authz'
import { guard as expressGuard } from '@apiward/express'
import { apiward, guard as fastifyGuard } from '@apiward/fastify'
import { guard as koaGuard } from '@apiward/koa'
import Router from '@koa/router'
import express from 'express'
import fastify from 'fastify'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { send } from '../conformance/client.js'
import { listen, type RunningServer } from '../conformance/harness.js'
import { as, authenticate, token } from './support.js'

interface Note {
  id: string
  ownerId: string
}

const notes = new Map<string, Note>([['n1', { id: 'n1', ownerId: 'alice' }]])

describe("owner().resource(): the loaded resource in each framework's handler", () => {
  let loads = 0
  const note = owner({
    load: (ctx) => {
      loads++
      return notes.get(ctx.req.params.id!)
    },
    ownerOf: (n) => n.ownerId,
  })
  const servers: Record<string, RunningServer> = {}
  beforeAll(async () => {
    const e = express()
    e.get('/notes/:id', expressGuard(authenticate(), note), (req, res) => {
      const loaded = note.resource(req)
      expectTypeOf(loaded).toEqualTypeOf<Note | undefined>()
      res.json({ framework: 'express', note: loaded })
    })
    servers.express = await listen(createServer(e))

    const k = new Koa()
    const router = new Router()
    router.get('/notes/:id', koaGuard(authenticate(), note), (ctx) => {
      ctx.body = { framework: 'koa', note: note.resource(ctx) }
    })
    k.use(router.routes())
    servers.koa = await listen(createServer(k.callback()))

    const f = fastify()
    await f.register(apiward)
    f.get('/notes/:id', { ...fastifyGuard(authenticate(), note) }, async (request) => ({
      framework: 'fastify',
      note: note.resource(request),
    }))
    await f.listen({ port: 0, host: '127.0.0.1' })
    const { port } = f.server.address() as { port: number }
    servers.fastify = { url: `http://127.0.0.1:${port}`, close: () => f.close() }
  })
  afterAll(async () => {
    await Promise.all(Object.values(servers).map((s) => s.close()))
  })

  for (const framework of ['express', 'koa', 'fastify']) {
    it(`gives the ${framework} handler the note the guard loaded, loaded once`, async () => {
      const before = loads
      const answer = await send(`${servers[framework]!.url}/notes/n1`, as(await token('alice')))
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ framework, note: { id: 'n1', ownerId: 'alice' } })
      expect(loads - before).toBe(1)
      const foreign = await send(`${servers[framework]!.url}/notes/n1`, as(await token('bob')))
      expect(foreign.status).toBe(404)
      expect(foreign.json.code).toBe('route.not_found')
    })
  }
})
