import {
  booleanOption,
  checkOptions,
  functionOption,
  type KnownOptions,
  type Principal,
  type SecurityContext,
  type SecurityEventBus,
  securityEvents,
} from '@apiward/core'
import type { Adapter, Enforcer, Watcher } from 'casbin'
import type { ModelShape } from './casbin-model.js'
import { type EnforcerSource, enforcerSource } from './casbin-source.js'
import { Challenges, realmOption } from './challenge.js'

/** How the principal's roles reach the policy. */
export type CasbinRoles = 'subjects' | 'attribute' | 'none'

/** Options of {@link casbin}. */
export interface CasbinOptions {
  /** The model: a `.conf` file path or the model text. With `policy` or `adapter`. */
  model?: string
  /**
   * The policy: a `.csv` file path (read again on every `reload()`) or the CSV text. A line of a
   * type the model lacks or with the wrong number of fields fails the load, where casbin would
   * skip it (a skipped deny rule is an allow).
   */
  policy?: string
  /** Any casbin adapter (a database): the policy is loaded from it, on every `reload()` again. */
  adapter?: Adapter
  /**
   * A ready enforcer, or a function that builds one (called for every load, so `reload()` and
   * `watcher` work). An instance is used as it is and cannot be reloaded.
   */
  enforcer?: Enforcer | (() => Enforcer | Promise<Enforcer>)
  /**
   * The object decided on: `'route'` (default) the route pattern where the router knows it
   * (`/notes/:id`, the same for every spelling of the path), else the path as the router
   * compares it (`req.matchPath`: decoded, dot segments resolved, folded as the router folds, an encoded `/` kept in its segment);
   * `'path'` always that path; or a function of the request.
   */
  object?: 'route' | 'path' | ((ctx: SecurityContext) => string)
  /**
   * The domain (tenant) of RBAC with domains, for a model whose request has `dom`. Required
   * exactly when the model has it. A request without a domain (`undefined`) is refused.
   */
  domain?: (ctx: SecurityContext) => string | undefined
  /**
   * How the principal's roles take part. `'subjects'` (default unless the request has `roles`):
   * the principal's id and each of its roles are decided on as subjects (the policy's groupings,
   * `g, editor, viewer`, apply to each); allowed when one is allowed and none meets a deny rule.
   * `'attribute'` (default when the model's request has `roles`): the sorted roles are that
   * request value (`p.sub in r.roles`). `'none'`: only the id. Roles are never added to the
   * shared enforcer per request.
   */
  roles?: CasbinRoles
  /**
   * Put before each role of the principal as casbin sees it (`'role:'` makes `editor` the subject
   * `role:editor`). casbin has one namespace of subjects: without a prefix, a role named like a
   * user id acts as that user. Default `''`, as casbin's own examples write policies.
   */
  rolePrefix?: string
  /** The subject. Default: `principal.id`. It must return a string. */
  subject?: (principal: Principal, ctx: SecurityContext) => string
  /**
   * Values of the request's further tokens (ABAC: `r = sub, obj, act, env`), by token name.
   * A model with such tokens, or whose matcher reads attributes (`r.sub.Owner`), decides on more
   * than subject, object and action: its decisions are memoised only with `cacheKey`.
   */
  attributes?: (ctx: SecurityContext, principal: Principal) => Readonly<Record<string, unknown>>
  /**
   * The memo key of a decision, for models whose decisions depend on more than subject, object,
   * action, domain and roles: it must hold everything the decision reads. `undefined`: not
   * memoised. Default: those five, which is why ABAC models are not memoised without it.
   */
  cacheKey?: (ctx: SecurityContext, request: readonly unknown[]) => string | undefined
  /**
   * Memoise decisions: `true` (default) keeps up to 10,000, `{ max }` sets the bound, `false`
   * decides every request. The memo belongs to one loaded policy: a reload starts an empty one.
   */
  cache?: boolean | { max?: number }
  /**
   * A casbin watcher (`@casbin/redis-watcher`, or any with `setUpdateCallback`): when any
   * instance announces a change (`watcher.update()`), every instance reloads. Default: none.
   */
  watcher?: Watcher
  /** Where policy load events go. Default: the process-wide `securityEvents`. */
  events?: SecurityEventBus
  /** The `realm` of the 401 challenge when no principal is set. Default `'api'` (`jwt()`'s default). */
  realm?: string
}

const OPTIONS: KnownOptions<CasbinOptions> = {
  model: true,
  policy: true,
  adapter: true,
  enforcer: true,
  object: true,
  domain: true,
  roles: true,
  rolePrefix: true,
  subject: true,
  attributes: true,
  cacheKey: true,
  cache: true,
  watcher: true,
  events: true,
  realm: true,
}

const MISTAKES = {
  modelPath: 'model',
  policyPath: 'policy',
  policyFile: 'policy',
  modelFile: 'model',
  newEnforcer: 'enforcer',
  getSubject: 'subject',
  tenant: 'domain',
}

/** The parsed options of `casbin()`. */
export interface Config {
  source: EnforcerSource
  object: 'route' | 'path' | ((ctx: SecurityContext) => string)
  domain: ((ctx: SecurityContext) => string | undefined) | undefined
  roles: CasbinRoles | undefined
  rolePrefix: string
  /** The principal's roles as this guard hands them to casbin, per roles array. */
  roleLists: WeakMap<readonly string[], { list: string[]; key: string }>
  subject: ((principal: Principal, ctx: SecurityContext) => string) | undefined
  attributes: ((ctx: SecurityContext, principal: Principal) => Readonly<Record<string, unknown>>) | undefined
  cacheKey: ((ctx: SecurityContext, request: readonly unknown[]) => string | undefined) | undefined
  cacheMax: number
  watcher: Watcher | undefined
  events: SecurityEventBus
  challenges: Challenges
}

function stringOption(value: unknown, name: string, where: string): string {
  if (value === undefined) return ''
  if (typeof value !== 'string' || /\s/.test(value)) {
    throw new TypeError(`${where}: ${name} must be a string without spaces, e.g. 'role:'`)
  }
  return value
}

export function parseOptions(options: CasbinOptions, where: string): Config {
  checkOptions<CasbinOptions>(
    options,
    where,
    OPTIONS,
    MISTAKES,
    "{ model: 'rbac_model.conf', policy: 'rbac_policy.csv' }",
  )
  const source = enforcerSource(options, where)
  const object = options.object ?? 'route'
  if (object !== 'route' && object !== 'path' && typeof object !== 'function') {
    throw new TypeError(`${where}: object must be 'route', 'path' or a function (ctx) => string`)
  }
  const roles = options.roles
  if (roles !== undefined && roles !== 'subjects' && roles !== 'attribute' && roles !== 'none') {
    throw new TypeError(`${where}: roles must be 'subjects', 'attribute' or 'none'`)
  }
  let cacheMax = 10_000
  const cache = options.cache
  if (cache === false) cacheMax = 0
  else if (typeof cache === 'object' && cache !== null) {
    checkOptions<{ max?: number }>(cache, `${where}: cache`, { max: true })
    if (cache.max !== undefined && (!Number.isInteger(cache.max) || cache.max < 1)) {
      throw new TypeError(`${where}: cache.max must be a positive integer (decisions kept), e.g. 10000`)
    }
    cacheMax = cache.max ?? cacheMax
  } else booleanOption(cache, 'cache', where, true)
  const watcher = options.watcher
  if (watcher !== undefined) {
    if (typeof watcher?.setUpdateCallback !== 'function') {
      throw new TypeError(`${where}: watcher must be a casbin watcher (with setUpdateCallback)`)
    }
    if (!source.reloadable) {
      throw new TypeError(
        `${where}: a watcher reloads the policy, which a ready enforcer instance cannot do: pass enforcer as a function that builds one, or model with policy or adapter`,
      )
    }
  }
  return {
    source,
    object,
    domain: functionOption(options.domain, 'domain', where, '(ctx) => string'),
    roles,
    rolePrefix: stringOption(options.rolePrefix, 'rolePrefix', where),
    roleLists: new WeakMap(),
    subject: functionOption(options.subject, 'subject', where, '(principal, ctx) => string'),
    attributes: functionOption(options.attributes, 'attributes', where, '(ctx, principal) => object'),
    cacheKey: functionOption(options.cacheKey, 'cacheKey', where, '(ctx, request) => string | undefined'),
    cacheMax,
    watcher,
    events: options.events ?? securityEvents,
    challenges: new Challenges(realmOption(options.realm, where)),
  }
}

/** How one model's requests are built, checked against the options. */
export interface Plan {
  /** For each request token, what fills it. */
  fill: readonly string[]
  roles: CasbinRoles
  /** Whether decisions may be memoised under the default key. */
  plainKey: boolean
}

export function planFor(shape: ModelShape, config: Config, where: string): Plan {
  const hasDomain = shape.tokens.includes('dom')
  if (hasDomain && config.domain === undefined) {
    throw new TypeError(`${where}: the model's request has dom: give domain: (ctx) => the tenant`)
  }
  if (!hasDomain && config.domain !== undefined) {
    throw new TypeError(`${where}: domain is given but the model's request has no dom token`)
  }
  const hasRoles = shape.tokens.includes('roles')
  const roles = config.roles ?? (hasRoles ? 'attribute' : 'subjects')
  if (roles === 'attribute' && !hasRoles) {
    throw new TypeError(
      `${where}: roles: 'attribute' needs a roles token in the request (r = sub, roles, obj, act)`,
    )
  }
  if (roles !== 'attribute' && hasRoles) {
    throw new TypeError(`${where}: the model's request has roles, which only roles: 'attribute' fills`)
  }
  if (shape.extra.length > 0 && config.attributes === undefined) {
    throw new TypeError(
      `${where}: the model's request has ${shape.extra.join(', ')}: give attributes: (ctx, principal) => ({ ${shape.extra.map((t) => `${t}: ...`).join(', ')} })`,
    )
  }
  const plainKey = shape.extra.length === 0 && !shape.readsAttributes && config.attributes === undefined
  return { fill: shape.tokens, roles, plainKey }
}
