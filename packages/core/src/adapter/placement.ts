import { warnOnce } from '../warn.js'

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

/**
 * Warns once, with the docs section on placement, that an adapter's error handling is out of
 * place in its app: Koa's `errorHandler()` must be the first middleware (errors from outside it
 * get Koa's own text answer), Express's the last (every route after it answers its 404).
 */
export function warnMisplaced(code: string, message: string): void {
  warnOnce(code, message, 'adapters.md#placement')
}
