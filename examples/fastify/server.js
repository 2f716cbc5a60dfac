// The reference notes API on Fastify 5: the shared domain and security configuration, adapted.

import { NotFound } from '@apiward/errors'
import { createDomain, createSecurity, loadSettings, serve } from '@apiward/example-shared'
import { apiward, createGuard, frameworkErrors, stateOf } from '@apiward/fastify'
import Fastify from 'fastify'

const settings = loadSettings()
const domain = createDomain()
const security = createSecurity(settings, domain)
const hops = settings.trustProxy

const app = Fastify({
  // Fastify 5 reads a numeric trustProxy as "trust nothing": the hop count as a function of the hop.
  trustProxy: hops === 0 ? false : (_address, hop) => hop < hops,
  // Longer than the contract's 1 KiB, so the shared parameter check answers an over-long one with
  // the same 400 as on the other examples, not find-my-way's bare 414.
  routerOptions: { caseSensitive: true, ignoreTrailingSlash: false, maxParamLength: 8192 },
  bodyLimit: 64 * 1024,
  http: { maxHeaderSize: 16 * 1024 },
  frameworkErrors: frameworkErrors({ guards: security.edge }),
  logger: false,
})
await app.register(apiward, { guards: [...security.edge] })
app.addHook('onRequest', (request, _reply, done) => {
  domain.countRequest()
  // find-my-way matches `/notes/` as `/notes/:id` with an empty id; the other routers see no route.
  const params = request.params ?? {}
  for (const name in params) if (params[name] === '') return done(new NotFound({ code: 'route.not_found' }))
  done()
})
const guard = createGuard()
for (const route of security.routes) {
  app.route({
    method: route.method,
    url: route.path,
    ...guard(...route.guards),
    handler: async (request, reply) => {
      const out = await route.run(request.auth, (key) => stateOf(request, key))
      if (out.headers) reply.headers(out.headers)
      reply.code(out.status)
      return out.body === undefined ? reply.send() : reply.send(out.body)
    },
  })
}
await app.ready()
await serve(app.server, { name: 'fastify', settings, security })
