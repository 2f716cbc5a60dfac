// The reference notes API on Express 5: the shared domain and security configuration, adapted.
import { createServer } from 'node:http'
import { createDomain, createSecurity, loadSettings, serve } from '@apiward/example-shared'
import { createGuard, errorHandler, handleClientErrors, stateOf } from '@apiward/express'
import express from 'express'

const settings = loadSettings()
const domain = createDomain()
const security = createSecurity(settings, domain)
const guard = createGuard()

const app = express()
app.disable('x-powered-by')
app.set('case sensitive routing', true)
app.set('strict routing', true)
app.set('trust proxy', settings.trustProxy === 0 ? false : settings.trustProxy)

// No body parser: the guards read the body themselves, after authentication and the parameters.
app.use(guard(...security.edge), (_req, _res, next) => {
  domain.countRequest()
  next()
})
for (const route of security.routes) {
  app[route.method.toLowerCase()](route.path, guard(...route.guards), async (req, res, next) => {
    try {
      const out = await route.run(req.auth, (key) => stateOf(req, key))
      if (out.headers) res.set(out.headers)
      res.status(out.status)
      if (out.body === undefined) res.end()
      else res.json(out.body)
    } catch (err) {
      next(err)
    }
  })
}
app.use(errorHandler())

const server = createServer({ maxHeaderSize: 16 * 1024 }, app)
handleClientErrors(server)
await serve(server, { name: 'express', settings, security })
