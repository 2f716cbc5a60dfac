import { ApiError, MethodNotAllowed } from '@apiward/errors'
import type { GuardDescription } from '../guard.js'
import { allowHeaderMethods, type MountedGuards, type RouteEntry, routeEntries } from './kit.js'

/**
 * The methods of every matched route layer that lists them (@koa/router's `ctx.matched`, whose
 * layers each carry `methods`); anything that is not such a list gives none.
 */
export function layerMethods(layers: unknown): string[] {
  if (!Array.isArray(layers)) return []
  const methods: string[] = []
  for (const layer of layers as ReadonlyArray<{ methods?: unknown } | null | undefined>) {
    if (Array.isArray(layer?.methods)) methods.push(...(layer.methods as string[]))
  }
  return methods
}

/**
 * A router's bare 405 error (@koa/router's `allowedMethods({ throw: true })` throws one before it
 * sets `Allow`) as a 405 with `Allow` from the methods the router knows for the path; an
 * `ApiError`, another error, or a 405 for a path with no known methods, as it is.
 */
export function routerMethodError(err: unknown, methods: () => readonly string[]): unknown {
  if (typeof err !== 'object' || err === null || ApiError.is(err)) return err
  if ((err as { status?: unknown }).status !== 405) return err
  const allow = methods()
  return allow.length > 0 ? new MethodNotAllowed(allowHeaderMethods(allow), { cause: err }) : err
}

/** A router's table of routes (Hono's `app.routes` and `app.router`); `ALL` routes are middleware. */
export interface RouteTable {
  readonly routes: readonly { readonly method: string; readonly path: string; readonly handler: unknown }[]
  readonly router: { match(method: string, path: string): unknown }
}

interface RouteData {
  method: string
  path: string
}
type Match = [[unknown, RouteData], unknown][]

/** The methods the table's routes (not its middleware) accept for a path, from the router itself. */
export function tableMethods(table: RouteTable, path: string): string[] {
  const candidates = new Set<string>()
  for (const route of table.routes) if (route.method !== 'ALL') candidates.add(route.method)
  const found: string[] = []
  for (const method of candidates) {
    const [matches] = table.router.match(method, path) as [Match]
    if (matches.some(([[, route]]) => route.method === method)) found.push(method)
  }
  return found
}

/** Where a middleware route applies: `''` for every path, a prefix for `/admin/*`, `undefined` for a pattern. */
function mountOf(path: string): string | undefined {
  if (path === '*' || path === '/*') return ''
  const prefix = path.endsWith('/*') ? path.slice(0, -2) : undefined
  return prefix !== undefined && /^(\/[\w.~-]+)+$/.test(prefix) ? prefix : undefined
}

/**
 * Every route of a table with the guards that protect it, in the order they run: the guards of
 * middleware (`ALL`) routes registered before the route first (a mount path that is a pattern
 * rather than a plain prefix shows as `(pattern)` and is not claimed for any route), then the
 * route's own, from each handler through `guardsOfHandler`.
 */
export function tableRoutes(
  table: RouteTable['routes'],
  guardsOfHandler: (handler: unknown) => GuardDescription[],
): RouteEntry[] {
  const mounted: MountedGuards[] = []
  const groups: { method: string; path: string; own: GuardDescription[]; mounted: MountedGuards[] }[] = []
  for (const route of table) {
    const guards = guardsOfHandler(route.handler)
    if (route.method === 'ALL') {
      if (guards.length > 0) mounted.push({ mount: mountOf(route.path) ?? '(pattern)', guards })
      continue
    }
    const last = groups.at(-1)
    if (last?.method === route.method && last.path === route.path) last.own.push(...guards)
    else groups.push({ method: route.method, path: route.path, own: [...guards], mounted: [...mounted] })
  }
  return groups.flatMap((g) => routeEntries([g.method], g.path, g.mounted, g.own))
}

/** The pattern of the last matched route that is not middleware (`ALL`), of the routes a request matched in order. */
export function lastRoutePath(
  matched: readonly { readonly method: string; readonly path: string }[],
): string | undefined {
  for (let i = matched.length - 1; i >= 0; i--) if (matched[i]!.method !== 'ALL') return matched[i]!.path
  return undefined
}
