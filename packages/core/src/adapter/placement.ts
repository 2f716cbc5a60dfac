import { hasWarned, warnOnce } from '../warn.js'

/**
 * Warns once, at startup, about the routes of a Fastify app registered before the apiward plugin:
 * Fastify fixes a route's error handler when the route is added, so those routes keep Fastify's
 * own, whose 500 answers carry the error's message. `listing` is what `printRoutes({
 * commonPrefix: false })` printed when the plugin was registered.
 */
export function warnEarlierRoutes(listing: string): void {
  const routes = listing
    .split('\n')
    .map((line) => line.replace(/^[\s│├└─]+/, '').trim())
    .filter((line) => line !== '' && line !== '(empty tree)')
  if (routes.length === 0) return
  warnOnce(
    'APIWARD_FASTIFY_ROUTES_BEFORE_PLUGIN',
    `${routes.length === 1 ? 'A route was' : `${routes.length} routes were`} registered before the apiward plugin (${routes.slice(0, 3).join('; ')}${routes.length > 3 ? '; ...' : ''}): they keep Fastify's own error handler, whose 500 answers carry the error's message, and run no app-wide guard. Register the plugin first: await app.register(apiward), then the routes and the plugins that add them.`,
    'adapters.md#placement',
  )
}

const MISPLACED = {
  APIWARD_EXPRESS_ERROR_HANDLER_NOT_LAST:
    'Routes were added after errorHandler(): they are never reached, every request to them gets its 404. Install app.use(errorHandler()) last, after every route and router.',
  APIWARD_KOA_ERROR_HANDLER_NOT_FIRST:
    "errorHandler() is not the first middleware: errors thrown before it get Koa's own text/plain answer, with no request ID. Install app.use(errorHandler()) before every other middleware.",
} as const

/** The placement mistakes {@link warnMisplaced} knows, each with its message. */
export type MisplacedCode = keyof typeof MISPLACED

/**
 * Warns once, with the docs section on placement, that an adapter's error handling is out of
 * place in its app: Koa's `errorHandler()` must be the first middleware (errors from outside it
 * get Koa's own text answer), Express's the last (every route after it answers its 404).
 * `misplaced` is asked only until the warning was given, so a request pays for the look once.
 */
export function warnMisplaced(code: MisplacedCode, misplaced: () => boolean): void {
  if (hasWarned(code) || !misplaced()) return
  warnOnce(code, MISPLACED[code], 'adapters.md#placement')
}
