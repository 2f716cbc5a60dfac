// What is measured: one route, the same answer, through each framework and each stack. Shared by
// the runners (smoke checks, tables, budgets) and the servers (what to build).
//
// The framework-level rows (bare, noop, popular) are here; every package registers its own stacks
// in `stacks/<package>.mjs` (an exported `stacks` array, shape below), so a package adds rows
// without editing a shared file. Each stack with a `limit` gets a `limit-<name>` row: the bare
// route doing by hand the stack's unavoidable work (see README.md).
import { readdirSync } from 'node:fs'

import { BODY, PATH, ROUTE } from './constants.mjs'

export { AUDIENCE, BODY, FRAMEWORKS, ISSUER, PATH, ROUTE, SUBJECT } from './constants.mjs'

/**
 * A stack:
 * - `name`, `about`, `package` (the file it comes from).
 * - `apiward: true` and `guards(config)`: the guards given to the adapter's `guard()`, built once.
 *   `adapterOptions`: given to the adapter's `createGuard()` and error handling.
 * - `install`: `{ [framework]: async (app, config, handler) => void }` for stacks that are not
 *   apiward guards (peers): adds the stack's route with the peer's middleware (`handler` answers
 *   the stack's `body`). `frameworks` lists where the stack runs (default: every framework, or the
 *   keys of `install`).
 * - `route`, `path`, `body`: the route pattern the server registers (default `ROUTE`, `/hello`),
 *   the request the smoke check and both load generators send (default `PATH`,
 *   `/hello?limit=10`) and the JSON every answer must carry (default `BODY`). A limit answers
 *   the route, path and body of its stack; see `routeOf()`.
 * - `strictRouting: true`: the reference API's routing (Express `case sensitive routing` and
 *   `strict routing`, @koa/router `sensitive` and `strict`, Fastify `maxParamLength: 1024`;
 *   Hono's defaults are already strict), for the stack and its limit.
 * - `token`: which signed token is sent (the smoke check expects 401 without it). `redis`: needs the
 *   bench's redis-server. `needs(pkgExports)`: a reason when something it needs is missing.
 * - `headers`: response headers the smoke check requires (lower case), beyond the bare route's.
 * - `limit`: `{ work?, about?, readsIp? }`: a `limit-<name>` row is added; `work(config)` returns
 *   the per-request work the limit does by hand, `(authorization) => principal | undefined`
 *   (undefined: 401); `readsIp`: the limit reads the client IP as the framework resolves it;
 *   `readsParams`: `work` gets the route's parameters as a second argument (Express
 *   `req.params`, Koa `ctx.params`, Fastify `request.params`, Hono `c.req.param()`);
 *   `changing`: names of headers whose value the stack computes per request (a limiter's
 *   remaining quota): the limit builds a fresh value of the same length on every request too
 *   (`${head}${n}${tail}` around the first number of the recorded value), since Node spends
 *   about 1.5k instructions more on a header value built per request than on a constant one.
 * - `budget`: `{ instructions, base?, label }`: what the stack may add beyond its limit, in
 *   instructions per request; with `base`, net of what the base stack adds beyond its own limit.
 * - `peerOf`: the apiward stack a peer is compared with.
 */
const FRAMEWORK_STACKS = [
  {
    name: 'bare',
    package: 'framework',
    about: 'the framework alone: the ceiling every other stack is a ratio to',
  },
  {
    name: 'noop',
    package: 'framework',
    about:
      "one no-op middleware of the framework's own (Fastify: an onRequest hook): the floor of any middleware-based guard",
  },
  {
    name: 'popular',
    package: 'framework',
    frameworks: ['express', 'koa', 'fastify'],
    token: 'RS256',
    about:
      'what a user assembles from popular packages: headers, JWT (RS256 PEM), memory rate limit, ajv on the query, casbin RBAC, request log to /dev/null',
  },
]

const dir = new URL('./stacks/', import.meta.url)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs'))
  .sort((a, b) => (a === 'core.mjs' ? -1 : b === 'core.mjs' ? 1 : a.localeCompare(b)))

const registered = []
for (const file of files) {
  const mod = await import(new URL(file, dir).href)
  for (const stack of mod.stacks) registered.push({ package: file.replace(/\.mjs$/, ''), ...stack })
}

/** The limit row of a stack: the bare route doing the stack's unavoidable work by hand. */
function limitOf(stack) {
  return {
    name: `limit-${stack.name}`,
    package: stack.package,
    limitOf: stack.name,
    frameworks: stack.frameworks,
    token: stack.token,
    work: stack.limit.work,
    readsIp: stack.limit.readsIp,
    readsParams: stack.limit.readsParams,
    changing: stack.limit.changing,
    route: stack.route,
    path: stack.path,
    body: stack.body,
    strictRouting: stack.strictRouting,
    about: `the limit of ${stack.name}: its framework's no-op middleware setting the response headers ${stack.name} sends, by hand${stack.limit.changing ? ` (${stack.limit.changing.join(', ')} built per request)` : ''}${stack.limit.readsIp ? ', reading the client IP the framework resolved' : ''}${stack.limit.work ? `, and ${stack.limit.about}` : ''}`,
  }
}

export const STACKS = [FRAMEWORK_STACKS[0], FRAMEWORK_STACKS[1]]
for (const stack of registered) {
  if (stack.install && stack.frameworks === undefined) stack.frameworks = Object.keys(stack.install)
  STACKS.push(stack)
  if (stack.limit) STACKS.push(limitOf(stack))
}
STACKS.push(FRAMEWORK_STACKS[2])

for (const stack of STACKS) {
  if (STACKS.filter((s) => s.name === stack.name).length > 1)
    throw new Error(`two bench stacks are named ${stack.name}`)
}

export const stackByName = new Map(STACKS.map((s) => [s.name, s]))

/** The route a stack's server registers, the request sent to it and the body it answers with. */
export const routeOf = (stack) => ({
  route: stack?.route ?? ROUTE,
  path: stack?.path ?? PATH,
  body: stack?.body ?? BODY,
})

/** Whether a stack runs on a framework. */
export const runsOn = (stack, framework) =>
  stack.frameworks === undefined || stack.frameworks.includes(framework)
