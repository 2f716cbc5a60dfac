// @apiward/auth next to the JWT middleware users pick today, each against its own limit.
import { createPublicKey, hash as digest, verify } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { AUDIENCE, ISSUER, SUBJECT } from '../constants.mjs'

const principal = (claims, credential) => ({
  id: claims.sub,
  kind: 'user',
  scopes: ['notes:read'],
  roles: [],
  claims,
  credential,
})

/** The bearer token of an `Authorization` header, or undefined. */
const bearer = (authorization) =>
  typeof authorization === 'string' && authorization.startsWith('Bearer ')
    ? authorization.slice(7)
    : undefined

/** A limit's work on a cache hit: the token looked up in a Map filled at startup. */
const knownToken = {
  about: 'the bearer token looked up in a Map filled at startup (401 without it)',
  work: (config, alg) => {
    const token = config.tokens[alg]
    const known = new Map([
      [token, principal(JSON.parse(Buffer.from(token.split('.')[1], 'base64url')), 'jwt')],
    ])
    return (authorization) => known.get(bearer(authorization))
  },
}

/** A limit's work when the stack checks a signature: `crypto.verify` with a KeyObject, the payload parsed. */
const signatureCheck = {
  about:
    'the signature checked with crypto.verify and a KeyObject, the payload parsed (401 without the token)',
  work: (config, alg) => {
    const key = createPublicKey({ key: config.keys[alg].jwk, format: 'jwk' })
    const [hashAlg, dsaEncoding] = alg === 'ES256' ? ['sha256', 'ieee-p1363'] : ['sha256', undefined]
    return (authorization) => {
      const token = bearer(authorization)
      if (token === undefined) return undefined
      const dot = token.lastIndexOf('.')
      const ok = verify(
        hashAlg,
        Buffer.from(token.slice(0, dot)),
        dsaEncoding ? { key, dsaEncoding } : key,
        Buffer.from(token.slice(dot + 1), 'base64url'),
      )
      if (!ok) return undefined
      return principal(JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url')), 'jwt')
    }
  },
}

const withAlg = (kind, alg) => ({ about: kind.about, work: (config) => kind.work(config, alg) })

function jwtStack(alg, cache) {
  return {
    name: `jwt-${alg}-${cache ? 'cache' : 'nocache'}`,
    apiward: true,
    token: alg,
    headers: ['x-request-id'],
    guards: async (config) => {
      const { jwt } = await import('@apiward/auth')
      return [
        jwt({
          jwks: { keys: [config.keys[alg].jwk] },
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: [alg],
          ...(cache ? {} : { tokenCache: false }),
        }),
      ]
    },
    limit: withAlg(cache ? knownToken : signatureCheck, alg),
    ...(alg === 'ES256' && cache
      ? {
          budget: {
            instructions: 3500,
            base: 'empty',
            label: '`jwt()` on a verified-token cache hit, principal included',
          },
        }
      : {}),
    about: `jwt() with a local JWKS, ${alg}, ${cache ? 'verified-token cache on (the default)' : 'tokenCache: false (a signature check per request)'}`,
  }
}

/** The ES256 public key as a KeyObject, the way these peers' docs pass a key. */
const es256Key = (config) => createPublicKey({ key: config.keys.ES256.jwk, format: 'jwk' })

export const stacks = [
  jwtStack('ES256', true),
  jwtStack('ES256', false),
  jwtStack('RS256', true),
  jwtStack('RS256', false),
  {
    name: 'express-jwt',
    peerOf: 'jwt-ES256-nocache',
    token: 'ES256',
    headers: [],
    limit: withAlg(signatureCheck, 'ES256'),
    install: {
      express: async (app, config, handler) => {
        const { expressjwt } = await import('express-jwt')
        const check = expressjwt({
          secret: es256Key(config),
          algorithms: ['ES256'],
          issuer: ISSUER,
          audience: AUDIENCE,
        })
        app.get('/hello', check, handler)
        app.use((err, _req, res, _next) => res.status(err.status ?? 500).json({ code: err.code ?? 'error' }))
      },
    },
    about: 'express-jwt 8 with a KeyObject (ES256), issuer and audience checked; no cache',
  },
  {
    name: 'koa-jwt',
    peerOf: 'jwt-ES256-nocache',
    token: 'ES256',
    headers: [],
    limit: withAlg(signatureCheck, 'ES256'),
    install: {
      koa: async (router, config, handler) => {
        const { default: koaJwt } = await import('koa-jwt')
        const check = koaJwt({
          secret: es256Key(config),
          algorithms: ['ES256'],
          issuer: ISSUER,
          audience: AUDIENCE,
        })
        router.get('/hello', check, handler)
      },
    },
    about: 'koa-jwt 4 with a KeyObject (ES256), issuer and audience checked; no cache',
  },
  ...[false, true].map((cache) => ({
    name: cache ? 'fastify-jwt-cache' : 'fastify-jwt',
    peerOf: cache ? 'jwt-ES256-cache' : 'jwt-ES256-nocache',
    token: 'ES256',
    headers: [],
    limit: withAlg(cache ? knownToken : signatureCheck, 'ES256'),
    install: {
      fastify: async (app, config, handler) => {
        const { fastifyJwt } = await import('@fastify/jwt')
        await app.register(fastifyJwt, {
          secret: { public: config.keys.ES256.pem },
          verify: {
            algorithms: ['ES256'],
            allowedIss: ISSUER,
            allowedAud: AUDIENCE,
            ...(cache ? { cache: true } : {}),
          },
        })
        app.get('/hello', { onRequest: (request) => request.jwtVerify() }, handler)
      },
    },
    about: `@fastify/jwt 9 (fast-jwt) with the ES256 public key, issuer and audience checked; ${cache ? 'its verified-token cache on (`verify.cache: true`)' : 'no cache'}`,
  })),
  {
    name: 'hono-jwt',
    peerOf: 'jwt-ES256-nocache',
    token: 'ES256',
    headers: [],
    limit: withAlg(signatureCheck, 'ES256'),
    install: {
      hono: async (app, config, handler) => {
        const { jwt } = await import('hono/jwt')
        app.get('/hello', jwt({ secret: config.keys.ES256.jwk, alg: 'ES256' }), handler)
      },
    },
    about:
      "Hono's own jwt() middleware with the ES256 public JWK (Web Crypto); it checks no issuer or audience; no cache",
  },
  {
    name: 'introspection-cache',
    apiward: true,
    token: 'opaque',
    headers: ['x-request-id'],
    guards: async (config) => {
      const { introspection } = await import('@apiward/auth')
      const endpoint = await introspectionEndpoint(config.tokens.opaque)
      return [
        introspection({
          issuer: ISSUER,
          introspectionEndpoint: endpoint,
          clientId: 'bench-api',
          clientAuthentication: { method: 'client_secret_basic', clientSecret: 'bench-secret' },
          audience: AUDIENCE,
          // Longer than any run, so the measured requests are all cache hits.
          cache: { ttl: 3600 },
        }),
      ]
    },
    limit: {
      about: 'a SHA-256 of the bearer token looked up in a Map filled at startup (401 without it)',
      work: (config) => {
        const hash = (token) => digest('sha256', token, 'base64url')
        const known = new Map([[hash(config.tokens.opaque), principal(activeAnswer(), 'introspection')]])
        return (authorization) => {
          const token = bearer(authorization)
          return token === undefined ? undefined : known.get(hash(token))
        }
      },
    },
    about:
      'introspection() of an opaque token against a loopback introspection endpoint, the memory answer cache warm (one token is sent)',
  },
]

/** What the authorization server says of the bench's opaque token (RFC 7662). */
function activeAnswer() {
  const now = Math.floor(Date.now() / 1000)
  return {
    active: true,
    sub: SUBJECT,
    aud: AUDIENCE,
    scope: 'notes:read',
    client_id: 'bench-app',
    iat: now,
    exp: now + 7200,
  }
}

/** An introspection endpoint on loopback, in the server's own process: only the first request asks it. */
async function introspectionEndpoint(token) {
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
      const body = form.get('token') === token ? activeAnswer() : { active: false }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  server.unref()
  return `http://127.0.0.1:${server.address().port}/introspect`
}
