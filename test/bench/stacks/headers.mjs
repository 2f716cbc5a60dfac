// @apiward/headers next to the header and CORS middlewares users pick today, each against its own
// limit (the same response headers set by hand). The bench client sends no Origin, so the cors
// rows measure what every request of a CORS route pays: the decision and `Vary: Origin`.
import { HELMET_HEADERS, PRESET_HEADERS } from '../limit-parts.mjs'

const load = () => import('@apiward/headers')

const ORIGINS = ['https://app.bench.test']

export const stacks = [
  {
    name: 'secureHeaders',
    apiward: true,
    guards: async () => [(await load()).secureHeaders()],
    headers: ['x-request-id', ...PRESET_HEADERS],
    limit: {},
    budget: {
      instructions: 2000,
      base: 'empty',
      label:
        '`secureHeaders()`: its 8 headers through `setHeaders(list)` (at most 0.1k each beyond setting them by hand) and the X-Powered-By removal, which hooks writeHead',
    },
    about: 'secureHeaders(): the API preset, 8 headers computed once by helmet, X-Powered-By removed',
  },
  {
    name: 'secureHeaders-keepPoweredBy',
    apiward: true,
    guards: async () => [(await load()).secureHeaders({ xPoweredBy: false })],
    headers: ['x-request-id', ...PRESET_HEADERS],
    limit: {},
    budget: {
      instructions: 800,
      base: 'empty',
      label:
        '`secureHeaders({ xPoweredBy: false })`: 8 headers, at most 0.1k each beyond setting them by hand',
    },
    about: 'secureHeaders({ xPoweredBy: false }): the header list alone, without the removal',
  },
  {
    name: 'helmet',
    peerOf: 'secureHeaders',
    headers: HELMET_HEADERS,
    limit: {},
    install: {
      express: async (app, _config, handler) => {
        const { default: helmet } = await import('helmet')
        app.get('/hello', helmet(), handler)
      },
    },
    about: 'helmet 8 with its defaults (13 headers), per request',
  },
  {
    name: 'fastify-helmet',
    peerOf: 'secureHeaders',
    headers: HELMET_HEADERS,
    limit: {},
    install: {
      fastify: async (app, _config, handler) => {
        const { default: helmet } = await import('@fastify/helmet')
        await app.register(helmet)
        app.get('/hello', handler)
      },
    },
    about: '@fastify/helmet 13 with its defaults, an onRequest hook',
  },
  {
    name: 'koa-helmet',
    peerOf: 'secureHeaders',
    headers: HELMET_HEADERS,
    limit: {},
    install: {
      koa: async (router, _config, handler) => {
        const { default: helmet } = await import('koa-helmet')
        router.get('/hello', helmet(), handler)
      },
    },
    about: 'koa-helmet 8 with its defaults',
  },
  {
    name: 'cors',
    apiward: true,
    guards: async () => [(await load()).cors({ origins: ORIGINS, credentials: true })],
    headers: ['x-request-id', 'vary'],
    limit: {},
    about: "cors({ origins: ['https://app.bench.test'], credentials: true }), a request without Origin",
  },
  {
    name: 'cors-package',
    peerOf: 'cors',
    // It sends Access-Control-Allow-Credentials to requests without Origin too.
    headers: ['access-control-allow-credentials', 'vary'],
    limit: {},
    install: {
      express: async (app, _config, handler) => {
        const { default: cors } = await import('cors')
        app.get('/hello', cors({ origin: ORIGINS, credentials: true }), handler)
      },
    },
    about: "cors 2 with origin: ['https://app.bench.test'], credentials: true",
  },
  {
    name: 'fastify-cors',
    peerOf: 'cors',
    headers: ['access-control-allow-credentials', 'vary'],
    limit: {},
    install: {
      fastify: async (app, _config, handler) => {
        const { default: cors } = await import('@fastify/cors')
        await app.register(cors, { origin: ORIGINS, credentials: true })
        app.get('/hello', handler)
      },
    },
    about: "@fastify/cors 11 with origin: ['https://app.bench.test'], credentials: true",
  },
  {
    name: 'koa-cors',
    peerOf: 'cors',
    // With a fixed origin it answers every request with it, Origin or not.
    headers: ['access-control-allow-credentials', 'access-control-allow-origin', 'vary'],
    limit: {},
    install: {
      koa: async (router, _config, handler) => {
        const { default: cors } = await import('@koa/cors')
        router.get('/hello', cors({ origin: ORIGINS[0], credentials: true }), handler)
      },
    },
    about: "@koa/cors 5 with origin: 'https://app.bench.test', credentials: true",
  },
]
