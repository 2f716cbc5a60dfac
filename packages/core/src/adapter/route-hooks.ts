import { schemaViolationError } from '../field-errors.js'
import { type Guard, type GuardDescription, type GuardInput, toGuardList } from '../guard.js'
import type { RoutingPolicy } from '../path.js'
import { warnOnce } from '../warn.js'
import { checkHookLists } from './hook-lists.js'
import { frameworkErrorToApiError, guardsIn, type RouteEntry, type TrustSetting } from './kit.js'

/** A route as a framework's route hook sees it when it is added (Fastify's `onRoute` options). */
export interface HookedRoute {
  method: string | string[]
  url: string
  config?: unknown
  onRequest?: unknown
  preParsing?: unknown
  preHandler?: unknown
}

/** The hooks a route gets when one of its guards reads the raw body: a replay before the parser, the guard's parsed body after it. */
export interface RawBodyHooks {
  readonly preParsing: unknown
  readonly preHandler: unknown
}

/**
 * Checks a route as it is added and records it: hooks of a `guard()` that a later spread in its
 * options replaced are a `TypeError` (`checkHookLists`), every app-wide guard checks the route's
 * config (`checkRouteConfig`), and the route, with its guards in the order they run (`appWide`
 * first, then those of its `onRequest`, `preParsing` and `preHandler` hooks), goes into
 * `inventory` once per method. When one of them reads the raw body, the route gets `rawBody`'s
 * hooks: the replay after its own `preParsing` hooks, the parsed body before its `preHandler`s.
 * `adapter` starts every message.
 */
export function addGuardedRoute(
  route: HookedRoute,
  appGuards: readonly Guard[],
  appWide: readonly GuardDescription[],
  inventory: RouteEntry[],
  rawBody: RawBodyHooks,
  adapter: string,
): void {
  checkHookLists(route, `${adapter}: ${String(route.method)} ${route.url}`)
  const id = { method: String(route.method), url: route.url }
  for (const g of appGuards) g.checkRouteConfig?.((route.config ?? {}) as Record<string, unknown>, id)
  const guards = [...appWide, ...guardsIn([route.onRequest, route.preParsing, route.preHandler].flat())]
  for (const method of [route.method].flat()) inventory.push({ method, path: route.url, guards })
  if (guards.some((g) => g.readsRawBody)) {
    route.preParsing = [route.preParsing ?? [], rawBody.preParsing].flat()
    route.preHandler = [rawBody.preHandler, route.preHandler ?? []].flat()
  }
}

/**
 * Warns once that a guard hook runs on an app where the adapter's plugin is not registered: only
 * the plugin renders the framework's own errors as problem+json and refuses route options whose
 * guard hooks a later spread replaced. Returns `true`, for the hook's run-once flag.
 */
export function warnWithoutPlugin(registered: boolean): true {
  if (!registered) {
    warnOnce(
      'APIWARD_FASTIFY_NO_PLUGIN',
      '@apiward/fastify: guard() hooks run on an app without the apiward plugin: register it first.',
      'adapters.md#fastify',
    )
  }
  return true
}

/**
 * The value of an own property of `target` under a symbol of the given description (a
 * framework's private slot), looked up on each call: two copies of a framework in one process
 * each have a symbol of their own.
 */
export function symbolSlot<T>(target: object, description: string): T | undefined {
  const key = Object.getOwnPropertySymbols(target).find((s) => s.description === description)
  return key === undefined ? undefined : (target as Record<symbol, T>)[key]
}

/**
 * A reader of a framework's private slot on its objects, under a symbol of the given description
 * found on the first object read and kept (the slot is the same symbol on every object); when
 * the first object has none, every read is `undefined`.
 */
export function slotReader<T>(description: string): (target: object) => T | undefined {
  let key: symbol | null | undefined
  return (target) => {
    if (key === undefined) {
      key = Object.getOwnPropertySymbols(target).find((s) => s.description === description) ?? null
    }
    return key === null ? undefined : (target as Record<symbol, T>)[key]
  }
}

type RouterOptions = { caseSensitive?: unknown; ignoreTrailingSlash?: unknown }

/**
 * A router's path comparison from a server's options (Fastify's `initialConfig`): case-sensitive
 * unless `caseSensitive` is `false`, the trailing slash significant unless `ignoreTrailingSlash`
 * is `true`, each read from `routerOptions` (Fastify 5) first.
 */
export function routingOf(config: RouterOptions & { routerOptions?: RouterOptions }): RoutingPolicy {
  const router = config.routerOptions
  return {
    caseSensitive: (router?.caseSensitive ?? config.caseSensitive) !== false,
    strictSlash: (router?.ignoreTrailingSlash ?? config.ignoreTrailingSlash) !== true,
  }
}

const never = () => false

/**
 * A trust-proxy server option (`true`, a number of hops, addresses, or a function) as
 * `proxyTrustOf` reads it: on when truthy; a function is the trust itself, `true` trusts every
 * hop, and anything else is taken as trusting no public address 64 hops away.
 */
export function trustSettingOf(trust: unknown): TrustSetting {
  return [
    Boolean(trust),
    typeof trust === 'function'
      ? (trust as (address: string, hop: number) => boolean)
      : trust === true
        ? undefined
        : never,
  ]
}

/**
 * The app-wide `guards` option of an adapter's plugin, checked and flattened: a `TypeError`
 * naming the option for anything but an array of guards; none when it is absent or empty.
 */
export function appGuardsOption(guards: unknown, where: string): Guard[] {
  if (guards !== undefined && !Array.isArray(guards)) {
    throw new TypeError(`${where}: options.guards must be an array of guards: [rateLimit({ ... })]`)
  }
  return guards?.length ? toGuardList(guards as GuardInput[], `${where} options.guards`) : []
}

/**
 * Maps what a framework says in its error codes: a schema violation (code `validationCode`, or
 * a `validation` array with its `validationContext`) is a 400 listing each violation with its
 * JSON pointer (`schemaViolationError`), a code in `codes` the error kind it stands for
 * (`frameworkErrorToApiError`); anything else is left as it is.
 */
export function codedFrameworkError(
  err: unknown,
  codes: Readonly<Record<string, string>>,
  validationCode: string,
): unknown {
  if (typeof err !== 'object' || err === null) return err
  const { code, validation, validationContext } = err as Record<string, unknown>
  if (code === validationCode || (Array.isArray(validation) && typeof validationContext === 'string')) {
    return schemaViolationError(validationContext, Array.isArray(validation) ? validation : undefined, err)
  }
  return typeof code === 'string' && code in codes ? frameworkErrorToApiError(err, codes) : err
}
