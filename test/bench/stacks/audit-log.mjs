// @apiward/audit-log on the jwt-ES256-cache stack, against a limit that writes the same line to
// pino's file destination from the handler (built and chain-hashed by hand), next to the request
// loggers users pick.
import { AUDIENCE, ISSUER } from '../constants.mjs'
import { requestIds } from '../limit-parts.mjs'
import { benchFile, chainedLines, fileLogger } from '../log-files.mjs'

const principal = (claims) => ({
  id: claims.sub,
  kind: 'user',
  scopes: ['notes:read'],
  roles: [],
  claims,
  credential: 'jwt',
})

/**
 * The limit's work: the token looked up in a Map filled at startup (jwt-ES256-cache's limit), then
 * the line the audit log writes for an ordinary request, by hand: its fields, the chain fields and
 * a SHA-256 over them, written to pino's file destination (`chainedLines()`).
 */
const limit = {
  // The line's ip field: read from the request, as the audit log reads it.
  readsIp: true,
  about:
    'the token looked up in a Map, then the request.completed line built by hand (its request ID from a pooled randomFillSync), its chain hash computed with node:crypto, written to the file destination of pino',
  work: async (config) => {
    const token = config.tokens.ES256
    const known = new Map([[token, principal(JSON.parse(Buffer.from(token.split('.')[1], 'base64url')))]])
    const writeLine = await chainedLines('limit')
    const requestId = requestIds()
    let seq = 0
    return (authorization) => {
      const who = typeof authorization === 'string' ? known.get(authorization.slice(7)) : undefined
      if (who === undefined) return undefined
      const record = {
        time: new Date().toISOString(),
        event: 'request.completed',
        outcome: 'success',
        level: 'info',
        requestId: requestId(),
        principal: who.id,
        credential: 'jwt',
        ip: '127.0.0.1',
        method: 'GET',
        route: '/hello',
        status: 200,
        durationMs: 0.123,
        aborted: false,
        eventSeq: ++seq,
      }
      writeLine(record)
      return who
    }
  },
}

export const stacks = [
  {
    name: 'audit-jwt-ES256-cache',
    apiward: true,
    token: 'ES256',
    headers: ['x-request-id'],
    guards: async (config) => {
      const { jwt } = await import('@apiward/auth')
      const { auditLog } = await import('@apiward/audit-log')
      const log = auditLog({ destination: { file: benchFile('audit') } })
      process.once('exit', () => log.closeSync())
      return [
        jwt({
          jwks: { keys: [config.keys.ES256.jwk] },
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['ES256'],
        }),
      ]
    },
    limit,
    budget: {
      instructions: 4000,
      base: 'jwt-ES256-cache',
      label:
        'the audit log: one redacted, escaped, hash-chained request.completed line per request, to a file',
    },
    about:
      'jwt-ES256-cache with auditLog() to a file: one request.completed line per request (auth.success only once per token)',
  },
  {
    name: 'pino-http',
    peerOf: 'audit-jwt-ES256-cache',
    headers: [],
    install: {
      express: async (app, _config, handler) => {
        const { pinoHttp } = await import('pino-http')
        app.use(pinoHttp({ logger: await fileLogger('pino-http') }))
        app.get('/hello', handler)
      },
    },
    about: "pino-http 10's request line to a file (4 KiB buffer), no authentication: a request logger's cost",
  },
  {
    name: 'fastify-logger',
    peerOf: 'audit-jwt-ES256-cache',
    headers: [],
    install: {
      fastify: async (app, _config, handler) => {
        const logger = await fileLogger('fastify-logger')
        // Fastify's own `logger: true` writes this line from its response hook; the bench's app is built without it.
        app.addHook('onResponse', (request, reply, done) => {
          logger.info(
            { reqId: request.id, res: { statusCode: reply.statusCode }, responseTime: reply.elapsed },
            'request completed',
          )
          done()
        })
        app.get('/hello', handler)
      },
    },
    about:
      "Fastify's request-completed line (reqId, status, response time) with pino to a file, no authentication",
  },
]
