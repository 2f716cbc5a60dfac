import {
  booleanOption,
  CidrSet,
  checkOptions,
  createKey,
  defineGuard,
  functionOption,
  type Guard,
  type KnownOptions,
  type RequestOutcome,
  type RouteId,
  type SecurityContext,
} from '@apiward/core'
import { TooManyRequests } from '@apiward/errors'
import { type CallbackSite, callbackFailed, wrongAnswer } from './callbacks.js'
import { type ClientIpOptions, ipResolver } from './client-ip.js'
import { DeploymentChecks, type RequestRecord } from './deployment.js'
import { policyField, ServiceLimitItems, secondsUntil } from './headers.js'
import { type KeyOptions, keyBuilder } from './keys.js'
import { memoryStore } from './memory-store.js'
import { integerOption, MAX_DURATION, nameOption, warnIfMilliseconds } from './options.js'
import { GuardedCounters, type StoreOptions, storeOptions } from './outage.js'
import type { Counter, CounterSpec, CounterState } from './store.js'

/** One window of a limit: at most `points` per `duration` seconds. */
export interface RateLimitWindow {
  /** Points (requests, at cost 1) allowed per window. */
  points: number
  /** Window length in whole seconds (the `w` of `RateLimit-Policy`). */
  duration: number
  /**
   * The policy name in the headers. Default: the limiter's `name` for a single window,
   * `<name>-<duration>s` when there are several.
   */
  name?: string
}

/** Options of {@link rateLimit}. */
export interface RateLimitOptions extends KeyOptions, ClientIpOptions, StoreOptions {
  /**
   * Points allowed per `duration`: the one-window form. Use `windows` for several. A function of
   * the context gives a limit per request (per plan: `(ctx) => ctx.principal?.claims.plan ===
   * 'pro' ? 1000 : 100`): it must answer synchronously with an integer from 1 to 1e9, and each
   * limit it answers counts in counters of its own, so at most 64 distinct limits; anything
   * else refuses the request (503 `ratelimit.unavailable`, a `ratelimit.error` event), never
   * lets it through uncounted.
   */
  points?: number | ((ctx: SecurityContext) => number)
  /** Window length in whole seconds, with `points`. */
  duration?: number
  /**
   * Several windows enforced together, e.g. a burst and a sustained rate:
   * `[{ points: 10, duration: 1 }, { points: 1000, duration: 3600 }]`. A request passes when
   * every window has room; it counts in each of them.
   */
  windows?: readonly RateLimitWindow[]
  /**
   * The limiter's name: the policy name in the headers and the namespace of its counters in the
   * store. Give each limiter that shares a store its own name. Default `'default'`.
   */
  name?: string
  /**
   * Points a request consumes: a number, or a function of the context (e.g. by method or by
   * page size) returning a non-negative integer. Default 1. A request whose cost does not fit
   * what is left is refused and consumes nothing (see `countRefused`).
   *
   * The function must answer synchronously. When it throws, or answers a promise or anything
   * but a non-negative integer, the request is refused with a 503 `ratelimit.unavailable` and a
   * `ratelimit.error` event (a promise or a wrong value also warns once, naming the fix).
   */
  cost?: number | ((ctx: SecurityContext) => number)
  /**
   * Count refused requests too: a refused request then consumes its cost in every window, as
   * rate-limiter-flexible's `consume()` does, so a client that keeps sending while refused also
   * uses up its longer windows. Default `false`: a refused request consumes nothing, so one
   * costly request on a shared key (cost 20 with 9 points left) cannot drain what the others
   * have left, and a request refused by one window takes nothing from the others.
   */
  countRefused?: boolean
  /**
   * Requests for which this returns `true` are not counted (health checks...); `false` or
   * `undefined` counts them. It must answer synchronously: when it throws or answers anything
   * else (a promise included), the request is refused with a 503 `ratelimit.unavailable` and a
   * `ratelimit.error` event, never let through uncounted.
   */
  skip?: (ctx: SecurityContext) => boolean
  /**
   * Client IPs and CIDR ranges (IPv4 and IPv6) that are never limited, e.g. your monitoring.
   * Precomputed at build time. Default: none.
   */
  allowlist?: readonly string[]
  /**
   * Count only requests that end without a principal. The limiter still runs before
   * authentication and counts every request when it arrives, so a flood of bad credentials meets
   * the limit before any token is verified; a request that ends with a principal (an
   * authentication guard after this one accepted it) gets its points back when the response is
   * sent. Pair it with a per-principal limiter after authentication (`key: 'principal'`).
   * Default `false`: every request counts.
   */
  onlyUnauthenticated?: boolean
  /**
   * Send the IETF fields `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers,
   * draft 11 and later: the structured-field lists that express-rate-limit calls `'draft-8'`)
   * on every counted response, e.g. `RateLimit-Policy: "default";q=100;w=60` and
   * `RateLimit: "default";r=42;t=17`. Several limiters on one request each add their members.
   * Default `true`.
   */
  standardHeaders?: boolean
  /**
   * Also send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until
   * the reset) for the tightest window, for clients that only know those. Default `false`.
   */
  legacyHeaders?: boolean
}

const MISTAKES = {
  max: 'points (requests per window)',
  limit: 'points (requests per window)',
  windowMs: 'duration (in seconds, not milliseconds)',
  timeWindow: 'duration (in seconds)',
  keyGenerator: 'key (e.g. key: (ctx) => string)',
  allowList: 'allowlist (CIDR strings)',
  whitelist: 'allowlist (CIDR strings)',
  skipSuccessfulRequests: 'bruteForce() to count failed attempts only',
  skipFailedRequests: 'skip: (ctx) => ... or a cost function; a limiter decides before the handler runs',
  apiKeyHeader:
    "apiKey()'s header option: key: 'apiKey' counts the key apiKey() verified, whatever header carried it",
  redis: 'store: redisStore({ client }) with onStoreFailure',
  db: 'store: redisStore({ client }) with onStoreFailure',
  driver: 'store: memoryStore() or redisStore({ client })',
  id: 'key (e.g. key: (ctx) => string)',
  blacklist: 'ipFilter({ deny }) in front of the limiter',
  blocklist: 'ipFilter({ deny }) in front of the limiter',
  message:
    'nothing: a refusal is a 429 problem+json ratelimit.exceeded; react to the ratelimit.exceeded event',
  errorMessage: 'the ratelimit.exceeded event (a refusal is always a 429 problem+json)',
  statusCode: 'the ratelimit.exceeded event (a refusal is always a 429 problem+json)',
  handler: 'the ratelimit.exceeded event (a refusal is always a 429 problem+json)',
  errorResponseBuilder: "the adapter's problemTypeBase; a refusal is a 429 problem+json",
  passOnStoreError: "onStoreFailure: 'fail-open'",
  skipOnError: "onStoreFailure: 'fail-open' or 'fail-closed'",
  nameSpace: 'name (and redisStore({ prefix }))',
  addHeaders: 'standardHeaders and legacyHeaders',
  disableHeader: 'standardHeaders: false',
  ban: 'bruteForce() for login routes',
  validate: 'configureWarnings() (the deployment checks always run, each warned once)',
}

const RATE_LIMIT_OPTIONS = {
  points: true,
  duration: true,
  windows: true,
  name: true,
  cost: true,
  countRefused: true,
  onlyUnauthenticated: true,
  skip: true,
  allowlist: true,
  standardHeaders: true,
  legacyHeaders: true,
  key: true,
  ipv6Subnet: true,
  dangerouslyAllowAnyIpv6Subnet: true,
  ipFrom: true,
  dangerouslyTrustForwardedFor: true,
  store: true,
  onStoreFailure: true,
} satisfies KnownOptions<RateLimitOptions>

const SKIP: CallbackSite = { guard: 'rateLimit', callback: 'skip' }
const COST: CallbackSite = { guard: 'rateLimit', callback: 'cost' }
const POINTS: CallbackSite = { guard: 'rateLimit', callback: 'points' }
/** Distinct limits a `points` function may answer: each has counters of its own. */
const MAX_PLANS = 64

interface Window {
  readonly name: string
  readonly points: number
  readonly duration: number
  /** Builds this window's `RateLimit` items. */
  readonly items: ServiceLimitItems
}

const WINDOW_OPTIONS = { points: true, duration: true, name: true } satisfies KnownOptions<RateLimitWindow>

function readWindows(options: RateLimitOptions, name: string, where: string): Window[] {
  const single = options.points !== undefined || options.duration !== undefined
  if (single && options.windows !== undefined) {
    throw new TypeError(`${where}: give either points and duration, or windows, not both`)
  }
  if (!single && options.windows === undefined) {
    throw new TypeError(`${where}: points and duration are required, e.g. { points: 100, duration: 60 }`)
  }
  const dynamic = typeof options.points === 'function'
  const list: readonly RateLimitWindow[] = single
    ? [{ points: dynamic ? 1 : (options.points as number), duration: options.duration as number }]
    : options.windows!
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${where}: windows must be a non-empty array of { points, duration }`)
  }
  const windows: Window[] = []
  for (const [i, w] of list.entries()) {
    const at = single ? '' : `windows[${i}].`
    if (!single) checkOptions<RateLimitWindow>(w, `${where}: windows[${i}]`, WINDOW_OPTIONS)
    const points = integerOption(w.points, `${at}points`, where, { min: 1, max: 1e9 })
    const duration = integerOption(w.duration, `${at}duration`, where, { min: 1, max: MAX_DURATION })
    warnIfMilliseconds(duration, `${at}duration`, where)
    const fallback = list.length === 1 ? name : `${name}-${duration}s`
    const policy = nameOption(w.name, `${at}name`, where, fallback)
    if (windows.some((other) => other.duration === duration)) {
      throw new TypeError(`${where}: two windows of ${duration} s; merge them into one`)
    }
    if (windows.some((other) => other.name === policy)) {
      throw new TypeError(`${where}: two windows named '${policy}'; names must differ`)
    }
    windows.push({
      name: policy,
      points,
      duration,
      items: new ServiceLimitItems({ name: policy, points, duration }),
    })
  }
  return windows
}

/**
 * Limits how often a client may call: points per window, several windows at once (burst and
 * sustained), a cost per request, keyed by IP (IPv6 by /64), principal, API key, route or a
 * function, in memory or in Redis.
 *
 * Every counted response carries `RateLimit-Policy` and `RateLimit`; a refusal is a 429
 * problem (`ratelimit.exceeded`) with `Retry-After` and a `ratelimit.exceeded` security event.
 * A refused request consumes nothing (unless `countRefused`), so a costly request refused on a
 * shared key leaves what the others have left. With the memory store the guard is synchronous:
 * no promise per request.
 *
 * @example
 * ```ts
 * import { rateLimit } from '@apiward/ratelimit'
 *
 * app.use(guard(rateLimit({ points: 100, duration: 60 })))
 * app.post('/search', guard(jwt(opts), rateLimit({
 *   name: 'search',
 *   key: 'principal',
 *   windows: [{ points: 5, duration: 1 }, { points: 300, duration: 3600 }],
 * })), search)
 * ```
 */
export function rateLimit(options: RateLimitOptions): Guard {
  const where = 'rateLimit()'
  checkOptions<RateLimitOptions>(options, where, RATE_LIMIT_OPTIONS, MISTAKES)
  const name = nameOption(options.name, 'name', where, 'default')
  const windows = readWindows(options, name, where)
  const n = windows.length
  const resolveIp = ipResolver(options, 'rateLimit')
  const keyOf = keyBuilder(options, resolveIp, where)
  const skip = functionOption<(ctx: SecurityContext) => boolean>(options.skip, 'skip', where)
  const standard = standardHeadersOption(options.standardHeaders, where)
  const legacy = booleanOption(options.legacyHeaders, 'legacyHeaders', where, false)
  const countRefused = booleanOption(options.countRefused, 'countRefused', where, false)
  const giveBack = booleanOption(options.onlyUnauthenticated, 'onlyUnauthenticated', where, false)
  if (options.allowlist !== undefined && !Array.isArray(options.allowlist)) {
    throw new TypeError(`${where}: allowlist must be an array of IPs or CIDR ranges`)
  }
  const pointsOf = typeof options.points === 'function' ? options.points : undefined
  const settings = Object.freeze({
    name,
    windows: windows.map((w) => ({
      points: pointsOf === undefined ? w.points : 'function',
      duration: w.duration,
    })),
    key: typeof options.key === 'function' ? 'function' : (options.key ?? 'ip'),
    countRefused,
    onlyUnauthenticated: giveBack,
  })
  const allowlist = options.allowlist?.length
    ? new CidrSet(options.allowlist, `${where} allowlist`)
    : undefined
  let fixedCost = 1
  let costOf: ((ctx: SecurityContext) => number) | undefined
  if (typeof options.cost === 'function') costOf = options.cost
  else if (options.cost !== undefined) {
    const max = pointsOf === undefined ? Math.min(...windows.map((w) => w.points)) : 1e9
    fixedCost = integerOption(options.cost, 'cost', where, { min: 0, max })
  }
  const { store, policy } = storeOptions(options, where, memoryStore)
  const checks = new DeploymentChecks(where, store, 'rl', name)

  /** The windows and counters of one limit; a `points` function has one plan per limit it answers. */
  const planOf = (list: readonly Window[], suffix: string): Plan => {
    const specs: CounterSpec[] = list.map((w) => ({
      name: `rl:${name}:${w.duration}${suffix}`,
      points: w.points,
      duration: w.duration,
    }))
    const counters = new GuardedCounters(store, specs, policy, 'rateLimit')
    return { windows: list, counters, policyValue: policyField(list), states: new Array(n) }
  }
  const fixedPlan = pointsOf === undefined ? planOf(windows, '') : undefined
  const plans = new Map<number, Plan>()

  const planFor = (ctx: SecurityContext): Plan => {
    let points: unknown
    try {
      points = pointsOf!(ctx)
    } catch (err) {
      throw callbackFailed(ctx, POINTS, err)
    }
    if (typeof points !== 'number' || !Number.isInteger(points) || points < 1 || points > 1e9) {
      throw wrongAnswer(ctx, POINTS, points, 'an integer from 1 to 1e9')
    }
    const known = plans.get(points)
    if (known !== undefined) return known
    if (plans.size >= MAX_PLANS) {
      throw callbackFailed(
        ctx,
        POINTS,
        new TypeError(
          `rateLimit() points answered more than ${MAX_PLANS} distinct limits; answer one per plan`,
        ),
      )
    }
    const window = windows[0]!
    const plan = planOf(
      [
        {
          ...window,
          points,
          items: new ServiceLimitItems({ name: window.name, points, duration: window.duration }),
        },
      ],
      `:q${points}`,
    )
    plans.set(points, plan)
    return plan
  }

  /** Whether `skip` leaves the request uncounted; a `skip` that fails refuses it. */
  const skips = (ctx: SecurityContext): boolean => {
    let answer: unknown
    try {
      answer = skip!(ctx)
    } catch (err) {
      throw callbackFailed(ctx, SKIP, err)
    }
    if (answer === true) return true
    if (answer === false || answer === undefined) return false
    throw wrongAnswer(ctx, SKIP, answer, 'true or false')
  }

  const costFor = (ctx: SecurityContext): number => {
    let cost: unknown
    try {
      cost = costOf!(ctx)
    } catch (err) {
      throw callbackFailed(ctx, COST, err)
    }
    if (typeof cost === 'number' && Number.isInteger(cost) && cost >= 0) return cost
    throw wrongAnswer(ctx, COST, cost, 'a non-negative integer')
  }

  /** What a window that did not take (or gave back) shows when no window of the key runs. */
  const idle = (i: number): CounterState => ({
    consumed: 0,
    resetAt: Date.now() + windows[i]!.duration * 1000,
  })

  /** The standard fields, with the members of the limiters that ran before on this request. */
  const sendStandard = (ctx: SecurityContext, record: RequestRecord, plan: Plan, field: string): void => {
    // An onlyUnauthenticated limiter's members describe a policy that did not decide once a
    // principal is known (its points go back): the policy that counts the principal replaces them.
    if (record.policy === '' || (record.refundable === true && ctx.principal !== undefined)) {
      record.policy = plan.policyValue
      record.field = field
      record.refundable = giveBack
    } else {
      record.refundable = false
      record.policy = `${record.policy}, ${plan.policyValue}`
      record.field = `${record.field}, ${field}`
    }
    // Names in lower case, as HTTP/2 writes them: Node lower-cases every name it is given, and
    // one that already is costs no new string. Deferred to the end of the guards: a second
    // limiter on the request replaces both values, and Node then sets each header once.
    ctx.deferHeader('ratelimit-policy', record.policy)
    ctx.deferHeader('ratelimit', record.field)
  }

  const decide = (
    ctx: SecurityContext,
    record: RequestRecord,
    plan: Plan,
    states: ArrayLike<CounterState>,
    now: number,
  ): void => {
    const list = plan.windows
    let exceeded = false
    let retryAfter = 1
    let field = ''
    let tightest = 0
    let tightestRemaining = Number.POSITIVE_INFINITY
    for (let i = 0; i < n; i++) {
      const state = states[i]!
      const window = list[i]!
      const remaining = window.points - state.consumed
      const seconds = secondsUntil(state.resetAt, now)
      if (remaining < 0 || state.refused === true) {
        exceeded = true
        if (seconds > retryAfter) retryAfter = seconds
      }
      if (standard) {
        const item = window.items.item(remaining, seconds)
        field = i === 0 ? item : `${field}, ${item}`
      }
      if (legacy && remaining < tightestRemaining) {
        tightestRemaining = remaining
        tightest = i
      }
    }
    if (standard) sendStandard(ctx, record, plan, field)
    if (legacy) {
      ctx.deferHeader('x-ratelimit-limit', String(list[tightest]!.points))
      ctx.deferHeader('x-ratelimit-remaining', String(Math.max(0, tightestRemaining)))
      ctx.deferHeader('x-ratelimit-reset', String(secondsUntil(states[tightest]!.resetAt, now)))
    }
    if (exceeded) {
      ctx.emit('ratelimit.exceeded', {
        severity: 'warn',
        code: 'ratelimit.exceeded',
        limiter: name,
        retryAfter,
      })
      throw new TooManyRequests({
        code: 'ratelimit.exceeded',
        detail: 'Too many requests; retry after the time given in Retry-After.',
        retryAfter,
      })
    }
  }

  /** The points a request that ends with a principal gets back (`onlyUnauthenticated`). */
  const kTaken = createKey<Taken>('ratelimit.taken')
  const onFinish = (_outcome: RequestOutcome, ctx: SecurityContext): void => {
    const taken = ctx.get(kTaken)
    if (taken === undefined || ctx.principal === undefined) return
    const { plan, key, cost, states } = taken
    if (plan.counters.sync) {
      for (const counter of plan.counters.primary) counter.reward(key, cost)
      return
    }
    plan.counters.background(ctx, (list) =>
      Promise.all(list.map((counter, i) => counter.reward(key, cost, states[i]))),
    )
  }
  const giveBackLater = (
    ctx: SecurityContext,
    plan: Plan,
    key: string,
    cost: number,
    states: readonly CounterState[],
  ) => {
    if (cost === 0) return
    ctx.set(kTaken, { plan, key, cost, states })
    ctx.onFinish(onFinish)
  }

  /**
   * Charges every window, synchronously. When one refuses, those before it give back what
   * they took and none after it takes: nothing runs in between, so no other request sees the
   * points taken for a moment.
   */
  const chargeNow = (plan: Plan, key: string, cost: number, now: number): CounterState[] => {
    const primary = plan.counters.primary
    const states = plan.states
    if (countRefused) {
      for (let i = 0; i < n; i++) states[i] = primary[i]!.hit(key, cost, now) as CounterState
      return states
    }
    for (let i = 0; i < n; i++) {
      const state = primary[i]!.take(key, cost, now) as CounterState
      states[i] = state
      if (state.refused !== true || n === 1) continue
      for (let j = 0; j < n; j++) {
        if (j === i) continue
        if (j < i) primary[j]!.reward(key, cost)
        states[j] = (primary[j]!.peek(key) as CounterState | undefined) ?? idle(j)
      }
      return states
    }
    return states
  }

  /**
   * Charges every window of a remote store at once (each take is atomic in the store). When one
   * refuses, the windows that took give their points back (to the very window they took from),
   * so the request consumes nothing; until they have, a concurrent request of the same key may
   * find less room: refused early, never admitted beyond a limit.
   */
  const chargeRemote = async (
    list: readonly Counter[],
    key: string,
    cost: number,
  ): Promise<CounterState[]> => {
    if (countRefused) return Promise.all(list.map((counter) => counter.hit(key, cost)))
    const taken = await Promise.all(list.map((counter) => counter.take(key, cost)))
    if (n === 1 || !taken.some((state) => state.refused === true)) return taken
    await Promise.all(
      list.map((counter, i) => {
        const state = taken[i]!
        return state.refused === true ? undefined : counter.reward(key, cost, state)
      }),
    )
    return taken.map((state) =>
      state.refused === true
        ? state
        : { consumed: Math.max(0, state.consumed - cost), resetAt: state.resetAt },
    )
  }

  /** Per-route limiters of Fastify route `config.rateLimit`, by the override object, built at startup. */
  const routeLimiters = new WeakMap<object, Guard>()
  // Whether a route of an app this limiter guards app-wide has a `config.rateLimit`: only then
  // does a request read its route's config. A limiter mounted on a route itself limits it,
  // whatever the route's config says.
  let readsRouteConfig = false
  const checkRouteConfig = (config: Readonly<Record<string, unknown>>, route: RouteId): void => {
    const override = config.rateLimit
    if (override === undefined) return
    readsRouteConfig = true
    if (override === false) return
    const at = `${where} for the route config.rateLimit of ${route.method} ${route.url}`
    if (typeof override !== 'object' || override === null || Array.isArray(override)) {
      throw new TypeError(
        `${at}: give false (not limited there) or options such as { points: 5, duration: 1 }`,
      )
    }
    if (routeLimiters.has(override)) return
    const own = override as RateLimitOptions
    const base: RateLimitOptions = { ...options }
    if (own.points !== undefined || own.duration !== undefined || own.windows !== undefined) {
      delete base.points
      delete base.duration
      delete base.windows
    }
    const routeName = `${name}.${route.method}_${route.url}`.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 64)
    try {
      routeLimiters.set(override, rateLimit({ ...base, name: routeName, ...own }))
    } catch (err) {
      throw new TypeError(`${at}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  return defineGuard(
    (ctx) => {
      if (readsRouteConfig) {
        const override = ctx.req.routeConfig?.rateLimit
        if (override === false) return
        const own =
          typeof override === 'object' && override !== null ? routeLimiters.get(override) : undefined
        if (own !== undefined) return own(ctx)
      }
      if (skip !== undefined && skips(ctx)) return
      const ip = allowlist === undefined ? undefined : resolveIp(ctx)
      if (allowlist?.hasAddress(ip)) return
      const plan = fixedPlan ?? planFor(ctx)
      const record = checks.record(ctx, plan.counters.primary[0]!)
      if (record === undefined) return
      const key = keyOf(ctx, ip)
      const cost = costOf === undefined ? fixedCost : costFor(ctx)
      if (plan.counters.sync) {
        // One clock read for the counters and the headers.
        const now = Date.now()
        decide(ctx, record, plan, chargeNow(plan, key, cost, now), now)
        if (giveBack) giveBackLater(ctx, plan, key, cost, NO_STATES)
        return
      }
      return plan.counters
        .run(ctx, (list) => chargeRemote(list, key, cost))
        .then((states) => {
          decide(ctx, record, plan, states, Date.now())
          if (giveBack) giveBackLater(ctx, plan, key, cost, states)
        })
    },
    { guardName: 'rateLimit', needsBody: false, kind: 'rate-limit', settings, checkRouteConfig },
  )
}

/** The memory store gives back without the taken state. */
const NO_STATES: readonly CounterState[] = []

/** One limit of a limiter: its windows, their counters, the policy field. */
interface Plan {
  readonly windows: readonly Window[]
  readonly counters: GuardedCounters
  readonly policyValue: string
  /** Scratch space of the synchronous path: nothing runs between filling and reading it. */
  readonly states: CounterState[]
}

/** What a request took, to give back when it ends with a principal. */
interface Taken {
  readonly plan: Plan
  readonly key: string
  readonly cost: number
  readonly states: readonly CounterState[]
}

/** `standardHeaders`, refused with the fix when it is another library's draft name. */
function standardHeadersOption(value: unknown, where: string): boolean {
  if (value === undefined) return true
  if (typeof value === 'boolean') return value
  const named = typeof value === 'string' ? `; for ${JSON.stringify(value)} write standardHeaders: true` : ''
  throw new TypeError(
    `${where}: standardHeaders must be true or false. true sends RateLimit-Policy and RateLimit as structured-field lists (draft-ietf-httpapi-ratelimit-headers-11, what express-rate-limit calls 'draft-8'); false sends neither${named}.`,
  )
}
