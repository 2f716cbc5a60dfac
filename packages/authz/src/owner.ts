import {
  booleanOption,
  checkOptions,
  createKey,
  defineGuard,
  functionOption,
  type Guard,
  type KnownOptions,
  type Principal,
  SecurityContext,
  type StateKey,
} from '@apiward/core'
import { stateIn } from '@apiward/core/adapter'
import { ApiError, InternalServerError, NotFound } from '@apiward/errors'
import { Challenges, forbidden, realmOption } from './challenge.js'

/** Options of {@link owner}. */
export interface OwnerOptions<R> {
  /**
   * Loads the resource the request names, from the router's decoded params (`ctx.req.params.id`),
   * the query or the body; `undefined` or `null` when there is none. It may return a promise.
   * A throw or rejection answers 500 (`authz.error`), never an allow.
   */
  load: (ctx: SecurityContext) => R | undefined | null | PromiseLike<R | undefined | null>
  /**
   * The id of the resource's owner (or the ids of its owners), compared exactly with the
   * principal's id.
   */
  ownerOf?: (resource: R) => string | readonly string[] | undefined
  /**
   * Allows others than the owner: same tenant, shared with, public. Only `true` allows; a throw
   * or rejection answers 500. With `ownerOf`, either one allows.
   */
  allow?: (principal: Principal, resource: R, ctx: SecurityContext) => boolean | PromiseLike<boolean>
  /**
   * Roles that reach every resource that exists (support, admin). Default: none. A missing
   * resource is still not found for them.
   */
  bypassRoles?: readonly string[]
  /**
   * The answer to a resource that exists but is not the principal's. Default `404`: exactly the
   * answer to a missing resource and to an unknown route, so existence is not revealed (OWASP
   * API1). `403` answers `authz.forbidden` instead, and tells that the resource exists.
   */
  deny?: 404 | 403
  /** Set it when `load` reads the parsed body (an id in the body). Default `false`. */
  needsBody?: boolean
  /** The name of the state key, for debuggers. Default `'resource'`. */
  name?: string
  /** The `realm` of the 401 challenge when no principal is set. Default `'api'` (`jwt()`'s default). */
  realm?: string
}

const OPTIONS: KnownOptions<OwnerOptions<unknown>> = {
  load: true,
  ownerOf: true,
  allow: true,
  bypassRoles: true,
  deny: true,
  needsBody: true,
  name: true,
  realm: true,
}

const MISTAKES = { owner: 'ownerOf', getOwner: 'ownerOf', bypass: 'bypassRoles', status: 'deny' }

/** An object-level guard: the guard, and the loaded resource for the handler. */
export interface OwnerGuard<R> extends Guard {
  /** The typed state key the resource is stored under, for an adapter's `stateOf(req, key)`. */
  readonly key: StateKey<R>
  /**
   * The resource this guard loaded and allowed, typed, so the handler does not load it again:
   * pass the Express `req`, the Koa `ctx`, the Fastify `request` or a `SecurityContext` (on Hono,
   * use its `stateOf(c, guard.key)`). `undefined` when the guard did not run on this request.
   */
  resource(holder: object): R | undefined
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<T>).then === 'function'
}

/**
 * Object-level authorization (OWASP API1, BOLA): loads the resource the route names, allows its
 * owner (`ownerOf`), whoever `allow` accepts, or a `bypassRoles` role, and hands the resource to
 * the handler through typed state (`note.resource(req)`).
 *
 * A resource that is missing and one that is not the caller's answer the same: 404
 * `route.not_found`, byte for byte the answer to an unknown route (`deny: 403` answers
 * `authz.forbidden` instead). No principal answers 401. The guard works on what `load` finds for
 * the router's decoded param, so an id spelled another way (`%61lice-1`, trailing spaces)
 * reaches either the same record, checked the same way, or none.
 *
 * @example
 * ```ts
 * const note = owner({ load: (ctx) => notes.get(ctx.req.params.id), ownerOf: (n) => n.ownerId })
 * app.get('/notes/:id', guard(jwt(opts), note), (req, res) => res.json(note.resource(req)))
 * ```
 */
export function owner<R>(options: OwnerOptions<R>): OwnerGuard<R> {
  const where = 'owner()'
  checkOptions<OwnerOptions<R>>(
    options,
    where,
    OPTIONS,
    MISTAKES,
    '{ load: (ctx) => notes.get(ctx.req.params.id), ownerOf: (note) => note.ownerId }',
  )
  const load = functionOption<OwnerOptions<R>['load']>(
    options.load,
    'load',
    where,
    '(ctx) => resource | undefined',
  )
  if (load === undefined)
    throw new TypeError(`${where}: load is required: (ctx) => the resource or undefined`)
  const ownerOf = functionOption<NonNullable<OwnerOptions<R>['ownerOf']>>(options.ownerOf, 'ownerOf', where)
  const allow = functionOption<NonNullable<OwnerOptions<R>['allow']>>(options.allow, 'allow', where)
  const bypass = options.bypassRoles ?? []
  if (!Array.isArray(bypass) || bypass.some((r) => typeof r !== 'string' || r === '')) {
    throw new TypeError(`${where}: bypassRoles must be an array of role names, e.g. ['support']`)
  }
  if (ownerOf === undefined && allow === undefined && bypass.length === 0) {
    throw new TypeError(`${where}: say who may reach a resource: ownerOf, allow or bypassRoles`)
  }
  const deny = options.deny ?? 404
  if (deny !== 404 && deny !== 403) throw new TypeError(`${where}: deny must be 404 (default) or 403`)
  const name = options.name ?? 'resource'
  if (typeof name !== 'string' || name === '')
    throw new TypeError(`${where}: name must be a non-empty string`)
  const needsBody = booleanOption(options.needsBody, 'needsBody', where, false)
  const challenges = new Challenges(realmOption(options.realm, where))
  const key = createKey<R>(name)

  const refuse = (ctx: SecurityContext, reason: 'not_found' | 'not_owner'): never => {
    const notFound = reason === 'not_found' || deny === 404
    ctx.emit('authz.denied', {
      severity: 'warn',
      code: notFound ? 'route.not_found' : 'authz.forbidden',
      guard: 'owner',
      reason,
    })
    throw notFound ? new NotFound() : forbidden()
  }
  const failed = (ctx: SecurityContext, callback: string, err: unknown): never => {
    if (ApiError.is(err)) throw err
    ctx.emit('authz.error', {
      severity: 'error',
      guard: 'owner',
      callback,
      detail: err instanceof Error ? err.message : String(err),
      error: err,
    })
    throw new InternalServerError({ cause: err })
  }
  const grant = (ctx: SecurityContext, resource: R): void => {
    ctx.set(key, resource)
  }
  const decide = (
    ctx: SecurityContext,
    principal: Principal,
    resource: R | undefined | null,
  ): void | Promise<void> => {
    if (resource === undefined || resource === null) return refuse(ctx, 'not_found')
    for (const role of bypass) if (principal.roles.includes(role)) return grant(ctx, resource)
    if (ownerOf !== undefined) {
      let owners: string | readonly string[] | undefined
      try {
        owners = ownerOf(resource)
      } catch (err) {
        return failed(ctx, 'ownerOf', err)
      }
      if (
        typeof owners === 'string'
          ? owners === principal.id
          : Array.isArray(owners) && owners.includes(principal.id)
      ) {
        return grant(ctx, resource)
      }
    }
    if (allow === undefined) return refuse(ctx, 'not_owner')
    let allowed: boolean | PromiseLike<boolean>
    try {
      allowed = allow(principal, resource, ctx)
    } catch (err) {
      return failed(ctx, 'allow', err)
    }
    if (isThenable<boolean>(allowed)) {
      return Promise.resolve(allowed).then(
        (answer) => (answer === true ? grant(ctx, resource) : refuse(ctx, 'not_owner')),
        (err: unknown) => failed(ctx, 'allow', err),
      )
    }
    return allowed === true ? grant(ctx, resource) : refuse(ctx, 'not_owner')
  }
  const check = (ctx: SecurityContext): void | Promise<void> => {
    const principal = ctx.principal
    if (principal === undefined) {
      ctx.emit('authz.denied', { severity: 'warn', guard: 'owner', reason: 'unauthenticated' })
      throw challenges.unauthenticated(ctx)
    }
    let loaded: R | undefined | null | PromiseLike<R | undefined | null>
    try {
      loaded = load(ctx)
    } catch (err) {
      return failed(ctx, 'load', err)
    }
    if (isThenable<R | undefined | null>(loaded)) {
      return Promise.resolve(loaded).then(
        (resource) => decide(ctx, principal, resource),
        (err: unknown) => failed(ctx, 'load', err),
      )
    }
    return decide(ctx, principal, loaded)
  }
  const guard = defineGuard(check, {
    guardName: 'owner',
    kind: 'authorization',
    needsBody,
    settings: { deny, ownerOf: ownerOf !== undefined, allow: allow !== undefined, bypassRoles: [...bypass] },
  })
  return Object.defineProperties(guard, {
    key: { value: key, enumerable: true },
    resource: {
      value: (holder: object): R | undefined =>
        holder instanceof SecurityContext ? holder.get(key) : stateIn(holder, key),
    },
  }) as OwnerGuard<R>
}
