import type { SecurityContext } from './context.js'

/** What a guard tells the adapter about itself. */
export interface GuardInfo {
  /** A name for errors and diagnostics, e.g. `jwt` or `rateLimit`. */
  readonly guardName?: string
  /**
   * Whether the guard reads the parsed body. Adapters that can run guards before the body is
   * parsed (Fastify's `onRequest`) do so only when no guard needs it, so unauthenticated
   * requests are refused before their body is read.
   */
  readonly needsBody?: boolean
  /**
   * Whether the guard reads the raw body (`ctx.readBody()`): adapters run it before the
   * framework's body parser (Fastify: in `preParsing`, with the guards before it).
   */
  readonly readsRawBody?: boolean
  /** The guards a `compose()` result runs, so adapters can schedule each one on its own. */
  readonly parts?: readonly Guard[]
  /** What the guard decides, for route inventories and self-audits. Default `'other'`. */
  readonly kind?: GuardKind
  /**
   * The options that matter for security as the factory resolved them (issuer, audience,
   * algorithms, limits, keys...), for route inventories: never secrets.
   */
  readonly settings?: Readonly<Record<string, unknown>>
  /**
   * Checks, at startup, the route options a framework keeps for each route an app-wide guard
   * covers (Fastify's route `config`): the guard reads its own entry (`config.rateLimit`) and
   * throws a `TypeError` naming what is wrong. Adapters without per-route options never call it.
   */
  readonly checkRouteConfig?: (config: Readonly<Record<string, unknown>>, route: RouteId) => void
}

/** A route as `checkRouteConfig` names it. */
export interface RouteId {
  readonly method: string
  readonly url: string
}

/** What a guard decides. */
export type GuardKind =
  | 'authentication'
  | 'authorization'
  | 'validation'
  | 'rate-limit'
  | 'access'
  | 'headers'
  | 'other'

/** A guard as a route inventory lists it. */
export interface GuardDescription {
  readonly name: string
  readonly kind: GuardKind
  readonly settings: Readonly<Record<string, unknown>>
  /** Whether it reads the raw body, so an adapter must run it before the framework's parser. */
  readonly readsRawBody: boolean
}

const NO_SETTINGS: Readonly<Record<string, unknown>> = Object.freeze({})

/**
 * The guards a guard runs, in order, as a route inventory lists them: a composition's parts, or
 * the guard itself.
 *
 * @example
 * ```ts
 * describeGuards(compose(jwt(opts), rateLimit(limits))) // [{ name: 'jwt', kind: 'authentication', ... }, ...]
 * ```
 */
export function describeGuards(guard: Guard): GuardDescription[] {
  return (guard.parts ?? [guard]).map((g) => ({
    name: g.guardName ?? (g.name || 'guard'),
    kind: g.kind ?? 'other',
    settings: g.settings ?? NO_SETTINGS,
    readsRawBody: g.readsRawBody === true,
  }))
}

/**
 * A security check. It allows by returning and denies by throwing an `ApiError`. It may
 * return a promise; a synchronous guard keeps the whole composition synchronous.
 */
export type Guard = ((ctx: SecurityContext) => void | PromiseLike<void>) & GuardInfo

/**
 * Names a guard and declares what it needs.
 *
 * @example
 * ```ts
 * const tenantGuard = defineGuard((ctx) => { ... }, { guardName: 'tenant', needsBody: true })
 * ```
 */
export function defineGuard(fn: (ctx: SecurityContext) => void | PromiseLike<void>, info: GuardInfo): Guard {
  if (typeof fn !== 'function') throw new TypeError('defineGuard(fn, info): fn must be a function')
  return Object.assign(fn, info)
}

/** A guard, or a (nested) list of guards, as `compose()` and the adapters accept them. */
export type GuardInput = Guard | readonly GuardInput[]

function flatten(inputs: readonly GuardInput[], out: Guard[], where: string): Guard[] {
  for (const input of inputs) {
    if (Array.isArray(input)) flatten(input, out, where)
    else if (typeof input === 'function') {
      const parts = (input as Guard).parts
      if (parts) out.push(...parts)
      else out.push(input as Guard)
    } else {
      throw new TypeError(
        `${where} expects guards (functions such as jwt({...}) or rateLimit({...})), got ${input === null ? 'null' : typeof input}. Did you forget to call the factory?`,
      )
    }
  }
  return out
}

/** Flattens nested guard lists and checks that every entry is a function. */
export function toGuardList(inputs: readonly GuardInput[], where = 'compose()'): Guard[] {
  return flatten(inputs, [], where)
}

const allow: Guard = defineGuard(() => {}, { guardName: 'allow', needsBody: false, parts: [] })

function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== undefined && typeof (value as PromiseLike<void>).then === 'function'
}

/**
 * Runs guards in order as one guard; the first that throws denies. The result stays
 * synchronous until a guard actually returns a promise, so a stack of synchronous guards costs
 * no promise and no closure per request.
 *
 * @example
 * ```ts
 * const notesRead = compose(rateLimit({ points: 100, duration: 60 }), jwt({ ... }), scopes('notes:read'))
 * ```
 */
export function compose(...guards: GuardInput[]): Guard {
  const list = toGuardList(guards)
  if (list.length === 0) return allow
  if (list.length === 1) return list[0]!
  const n = list.length
  const run = (ctx: SecurityContext, from: number): void | PromiseLike<void> => {
    for (let i = from; i < n; i++) {
      const result = list[i]!(ctx)
      if (isThenable(result)) return result.then(() => run(ctx, i + 1))
    }
  }
  // Two guards (authentication, then one check) are the common composition: called directly,
  // without the loop and its second call through the list.
  const [first, second] = list as [Guard, Guard]
  const composed =
    n === 2
      ? (ctx: SecurityContext): void | PromiseLike<void> => {
          const result = first(ctx)
          return isThenable(result) ? result.then(() => second(ctx)) : second(ctx)
        }
      : (ctx: SecurityContext): void | PromiseLike<void> => run(ctx, 0)
  return defineGuard(composed, {
    guardName: `compose(${list.map((g) => g.guardName ?? (g.name || 'guard')).join(', ')})`,
    needsBody: list.some((g) => g.needsBody === true),
    readsRawBody: list.some((g) => g.readsRawBody === true),
    parts: list,
  })
}

/**
 * Splits guards at the first one that needs the body: the guards before it can run as soon as
 * the headers are in; the rest after the body is parsed. Order is kept.
 */
export function splitByBody(guards: readonly Guard[]): { beforeBody: Guard[]; afterBody: Guard[] } {
  const i = guards.findIndex((g) => g.needsBody === true)
  return i === -1
    ? { beforeBody: [...guards], afterBody: [] }
    : { beforeBody: guards.slice(0, i), afterBody: guards.slice(i) }
}
