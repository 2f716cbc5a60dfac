// A small Express API protected by apiward, exercised by a few requests that show allow and deny.
import { once } from 'node:events'
import { Unauthorized } from '@apiward/errors'
import { errorHandler, guard } from '@apiward/express'
import express from 'express'

const DEMO_TOKEN = 'demo-token-for-alice'

/** A stand-in credential check; real APIs use jwt() or apiKey() from @apiward/auth. */
const demoBearer = (ctx) => {
  const header = ctx.req.header('authorization')
  if (header !== `Bearer ${DEMO_TOKEN}`) {
    throw new Unauthorized({
      code: header === undefined ? 'auth.missing_credentials' : 'auth.invalid_token',
      headers: { 'WWW-Authenticate': 'Bearer realm="demo"' },
    })
  }
  ctx.principal = {
    id: 'alice',
    kind: 'user',
    scopes: ['notes:read'],
    roles: [],
    claims: {},
    credential: 'jwt',
  }
}

const app = express()
app.disable('x-powered-by')
app.use(express.json({ limit: '64kb' }))
app.get('/health', (_req, res) => res.json({ status: 'ok' }))
app.get('/notes', guard(demoBearer), (req, res) => res.json({ items: [], owner: req.auth.id }))
app.post('/notes', guard(demoBearer), (req, res) => res.status(201).json(req.body))
app.use(errorHandler())

const server = app.listen(0, '127.0.0.1')
await once(server, 'listening')
const base = `http://127.0.0.1:${server.address().port}`
console.log(`apiward demo listening on ${base}\n`)

const show = async (label, path, init = {}) => {
  const res = await fetch(base + path, init)
  const body = await res.text()
  console.log(
    `${label}\n  ${init.method ?? 'GET'} ${path} -> ${res.status} ${res.headers.get('content-type') ?? ''}`,
  )
  for (const name of ['www-authenticate', 'allow', 'x-request-id']) {
    if (res.headers.has(name)) console.log(`  ${name}: ${res.headers.get(name)}`)
  }
  console.log(`  ${body}\n`)
}

const auth = { authorization: `Bearer ${DEMO_TOKEN}` }
await show('Allowed: a valid credential reaches the handler, with req.auth set', '/notes', { headers: auth })
await show('Denied: no credential is a 401 problem with a WWW-Authenticate challenge', '/notes')
await show('Denied: a wrong credential', '/notes', { headers: { authorization: 'Bearer forged' } })
await show('Malformed JSON is a 400 problem, never a stack trace', '/notes', {
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: '{"title": ',
})
await show('An unknown route is a 404 problem', '/nowhere')
await show('A known path with another method is a 405 with Allow', '/health', { method: 'DELETE' })

server.close()
