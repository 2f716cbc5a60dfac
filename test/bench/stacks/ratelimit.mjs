// @apiward/ratelimit next to the rate limiters users pick today, each against its own limit.
import { once } from 'node:events'

const rateLimit = async (options) => (await import('@apiward/ratelimit')).rateLimit(options)

export const stacks = [
  {
    name: 'rateLimit-memory',
    apiward: true,
    guards: async () => [await rateLimit({ points: 1e9, duration: 60 })],
    headers: ['x-request-id', 'ratelimit', 'ratelimit-policy'],
    limit: { readsIp: true, changing: ['ratelimit'] },
    budget: {
      instructions: 2000,
      base: 'empty',
      label: '`rateLimit()` memory: key, counter, building its header values (their Node cost excluded)',
    },
    about: 'rateLimit({ points: 1e9, duration: 60 }), memory store',
  },
  {
    name: 'rateLimit-memory-noHeaders',
    apiward: true,
    adapterOptions: { requestIdHeader: false },
    headers: [],
    guards: async () => [await rateLimit({ points: 1e9, duration: 60, standardHeaders: false })],
    about:
      'rateLimit-memory with standardHeaders: false and requestIdHeader: false: the limiter without response headers',
  },
  {
    name: 'rateLimit-redis',
    apiward: true,
    redis: true,
    headers: ['x-request-id', 'ratelimit', 'ratelimit-policy'],
    guards: async (config) => {
      const { rateLimit, redisStore } = await import('@apiward/ratelimit')
      const { Redis } = await import('ioredis')
      const client = new Redis({
        host: '127.0.0.1',
        port: config.redisPort,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      })
      await once(client, 'ready')
      const store = redisStore({ client, prefix: `bench:${process.pid}:` })
      return [rateLimit({ points: 1e9, duration: 60, store, onStoreFailure: 'fail-closed' })]
    },
    about: "rateLimit() on redisStore (ioredis, local redis-server), onStoreFailure 'fail-closed'",
  },
  {
    name: 'express-rate-limit',
    peerOf: 'rateLimit-memory',
    headers: ['ratelimit', 'ratelimit-policy'],
    limit: { readsIp: true, changing: ['ratelimit'] },
    install: {
      express: async (app, _config, handler) => {
        const { rateLimit } = await import('express-rate-limit')
        const limiter = rateLimit({
          windowMs: 60_000,
          limit: 1e9,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
        })
        app.get('/hello', limiter, handler)
      },
    },
    about: "express-rate-limit 8, memory store, standardHeaders: 'draft-8', legacyHeaders: false",
  },
  {
    name: 'fastify-rate-limit',
    peerOf: 'rateLimit-memory',
    headers: ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    limit: { readsIp: true, changing: ['x-ratelimit-remaining'] },
    install: {
      fastify: async (app, _config, handler) => {
        const { fastifyRateLimit } = await import('@fastify/rate-limit')
        await app.register(fastifyRateLimit, { global: false })
        app.get('/hello', { config: { rateLimit: { max: 1e9, timeWindow: 60_000 } } }, handler)
      },
    },
    about: '@fastify/rate-limit 10 on the route (`config.rateLimit`), memory store, its default headers',
  },
  {
    name: 'koa-ratelimit',
    peerOf: 'rateLimit-memory',
    headers: ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    limit: { readsIp: true, changing: ['x-ratelimit-remaining'] },
    install: {
      koa: async (router, _config, handler) => {
        const { default: ratelimit } = await import('koa-ratelimit')
        const limiter = ratelimit({
          driver: 'memory',
          db: new Map(),
          duration: 60_000,
          max: 1e9,
          id: (ctx) => ctx.ip,
        })
        router.get('/hello', limiter, handler)
      },
    },
    about: 'koa-ratelimit 6, memory driver (a Map), keyed by ctx.ip, its default headers',
  },
]
