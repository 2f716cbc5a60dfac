import {
  checkOptions,
  defineGuard,
  functionOption,
  type Guard,
  ipKey,
  type KnownOptions,
  type RequestOutcome,
  type SecurityContext,
} from '@apiward/core'
import { BadRequest, TooManyRequests } from '@apiward/errors'
import {
  type CallbackSite,
  callbackFailed,
  isThenable,
  reportCallback,
  reportWrongAnswer,
  wrongAnswer,
} from './callbacks.js'
import {
  type ClientIpOptions,
  type Ipv6GroupingOptions,
  ipBucket,
  ipResolver,
  ipv6SubnetOption,
  UNPARSABLE_IP,
} from './client-ip.js'
import { DeploymentChecks } from './deployment.js'
import { hashKey } from './hash.js'
import { secondsUntil } from './headers.js'
import { memoryStore } from './memory-store.js'
import { integerOption, MAX_DURATION, nameOption, warnIfMilliseconds } from './options.js'
import { GuardedCounters, type StoreOptions, storeOptions } from './outage.js'
import type { Counter, CounterState } from './store.js'
import { normalizeUsername } from './username.js'
import { usernameFromRequest } from './username-source.js'

/** How a login attempt ended, for the brute-force counters. */
export type LoginVerdict = 'success' | 'failure' | 'ignore'

/** Options of {@link bruteForce}. */
export interface BruteForceOptions extends ClientIpOptions, Ipv6GroupingOptions, StoreOptions {
  /** Namespace of the counters in the store; give each protected route its own. Default `'login'`. */
  name?: string
  /**
   * Failed attempts in a row allowed for one username from one client IP before that pair is
   * blocked for `blockDuration`. Default 5. Attempts in flight count, so parallel guesses cannot
   * overtake the limit.
   */
  maxConsecutiveFailures?: number
  /**
   * Failed attempts in a row allowed for one username from all IPs together, against guessing
   * spread over many addresses. Default 20. Anyone can fail for any username, so this also lets
   * a stranger lock an account for `blockDuration`: keep the duration short.
   */
  maxFailuresPerUsername?: number
  /**
   * How long (seconds) a run of failures is remembered; the count starts with the first failure.
   * Default 86400 (a day), so slow guessing does not slip under the limit.
   */
  failureWindow?: number
  /** How long (seconds) a blocked username or (username, IP) pair is refused. Default 900. */
  blockDuration?: number
  /**
   * Reads the username of the attempt. Default: wherever the framework has it: the parsed
   * body's `username`, the user of `Authorization: Basic`, else the body itself when no body
   * parser read it (JSON or a form of at most 16 KiB, then handed to the handler as the parsed
   * body); with none anywhere, a warning names the fix once (`APIWARD_BRUTEFORCE_NO_USERNAME`).
   * The value is normalised (NFKC, lower case, trimmed) and hashed before it becomes a store
   * key. An attempt without a username (`undefined`, or an empty string) only counts per IP.
   *
   * A username that is not a string (`["victim"]`, `{"0": "victim"}`, a number, `null`) is
   * refused with a 400 `request.invalid_username` before the handler: a handler or a database
   * that turns it into `'victim'` would otherwise check passwords for an account the counters
   * never saw. The function must answer synchronously; when it throws or returns a promise, the
   * request is refused with a 503 `ratelimit.unavailable` and a `ratelimit.error` event.
   */
  username?: (ctx: SecurityContext) => string | undefined
  /**
   * Tells how an attempt ended from the response. Default: 401 and 403 are failures, 2xx is a
   * success (it resets both counters), anything else (400, 5xx) is ignored; an attempt whose
   * client went away before the answer stays counted. Handlers can also say it explicitly with
   * `guard.success(ctx)` / `guard.failure(ctx)`.
   *
   * It runs after the response and must answer synchronously. When it throws, returns a promise
   * or anything but `'success'`, `'failure'` or `'ignore'`, the attempt counts as a failure (a
   * broken verdict must not let guessing go uncounted) and a `ratelimit.error` event says why.
   */
  verdict?: (outcome: RequestOutcome, ctx: SecurityContext) => LoginVerdict
}

/** The guard of {@link bruteForce}, with the calls a handler may make explicitly. */
export interface BruteForceGuard extends Guard {
  /** Records this request's attempt as a success (both counters reset) when it finishes. */
  success(ctx: SecurityContext): void
  /** Records this request's attempt as a failure when it finishes, whatever its status. */
  failure(ctx: SecurityContext): void
  /**
   * Forgets a username's failures (an administrator unlocking an account): its per-username
   * counter, and the pair with `ip` when given.
   */
  reset(username: string, ip?: string): Promise<void>
}

const MISTAKES = {
  freeRetries: 'maxConsecutiveFailures',
  maxRetries: 'maxConsecutiveFailures',
  points: 'maxConsecutiveFailures and maxFailuresPerUsername',
  duration: 'failureWindow (seconds)',
}

const BRUTE_FORCE_OPTIONS = {
  name: true,
  maxConsecutiveFailures: true,
  maxFailuresPerUsername: true,
  failureWindow: true,
  blockDuration: true,
  username: true,
  verdict: true,
  ipv6Subnet: true,
  dangerouslyAllowAnyIpv6Subnet: true,
  ipFrom: true,
  dangerouslyTrustForwardedFor: true,
  store: true,
  onStoreFailure: true,
} satisfies KnownOptions<BruteForceOptions>

const USERNAME: CallbackSite = { guard: 'bruteForce', callback: 'username' }
const VERDICT: CallbackSite = { guard: 'bruteForce', callback: 'verdict' }

interface Attempt {
  pairKey: string
  userKey: string | undefined
  /** Attempts counted on the pair when this one was, itself included. */
  consumed: number
  verdict: LoginVerdict | undefined
}

const kAttempt = Symbol('apiward.bruteForce.attempt')

/** What the `username` option answered, or the request's username (`usernameFromRequest`). */
function usernameValue(ctx: SecurityContext, read: ((ctx: SecurityContext) => unknown) | undefined): unknown {
  if (read === undefined) return usernameFromRequest(ctx)
  let value: unknown
  try {
    value = read(ctx)
  } catch (err) {
    throw callbackFailed(ctx, USERNAME, err)
  }
  if (isThenable(value)) throw wrongAnswer(ctx, USERNAME, value, 'a string or undefined')
  return value
}

/** The username of an attempt, normalised; `undefined` when there is none. */
function toUsername(ctx: SecurityContext, value: unknown): string | undefined {
  if (typeof value === 'string') return normalizeUsername(value)
  if (value === undefined) return undefined
  ctx.emit('bruteforce.denied', { severity: 'warn', code: 'request.invalid_username' })
  throw new BadRequest({ code: 'request.invalid_username', detail: 'The username must be a string.' })
}

function defaultVerdict(outcome: RequestOutcome): LoginVerdict {
  if (outcome.aborted) return 'failure'
  if (outcome.status === 401 || outcome.status === 403) return 'failure'
  if (outcome.status >= 200 && outcome.status < 300) return 'success'
  return 'ignore'
}

/**
 * Protects a login route against password guessing: counts consecutive failures per
 * (username, IP) and per username across IPs, blocks for `blockDuration` once either reaches its
 * limit (a 429 problem `ratelimit.too_many_failures` with `Retry-After`), and resets on success.
 * The guard learns the outcome from the response status, so it fits a login route in one line.
 *
 * It reads the username from the body (the parsed one, or the raw one when no parser ran), so it
 * is marked `needsBody` (Fastify runs it in `preHandler`).
 *
 * @example
 * ```ts
 * app.post('/login', guard(bruteForce()), login) // 401 counts as a failure, 2xx resets
 * ```
 */
export function bruteForce(options: BruteForceOptions = {}): BruteForceGuard {
  const where = 'bruteForce()'
  checkOptions<BruteForceOptions>(options, where, BRUTE_FORCE_OPTIONS, MISTAKES)
  const name = nameOption(options.name, 'name', where, 'login')
  const maxPair = integerOption(options.maxConsecutiveFailures, 'maxConsecutiveFailures', where, {
    min: 1,
    max: 1e6,
    fallback: 5,
  })
  const maxUser = integerOption(options.maxFailuresPerUsername, 'maxFailuresPerUsername', where, {
    min: 1,
    max: 1e9,
    fallback: 20,
  })
  const failureWindow = integerOption(options.failureWindow, 'failureWindow', where, {
    min: 1,
    max: MAX_DURATION,
    fallback: 86_400,
  })
  const blockDuration = integerOption(options.blockDuration, 'blockDuration', where, {
    min: 1,
    max: MAX_DURATION,
    fallback: 900,
  })
  const v6 = ipv6SubnetOption(options, where)
  const readUsername = functionOption<(ctx: SecurityContext) => unknown>(options.username, 'username', where)
  const verdictOf = functionOption<(o: RequestOutcome, ctx: SecurityContext) => unknown>(
    options.verdict,
    'verdict',
    where,
  )
  const resolveIp = ipResolver(options, 'bruteForce')
  warnIfMilliseconds(failureWindow, 'failureWindow', where)
  warnIfMilliseconds(blockDuration, 'blockDuration', where)
  const { store, policy } = storeOptions(options, where, memoryStore)
  const checks = new DeploymentChecks(where, store, 'bf', name)
  const counters = new GuardedCounters(
    store,
    [
      { name: `bf:${name}:pair`, points: maxPair, duration: failureWindow, blockDuration },
      { name: `bf:${name}:user`, points: maxUser, duration: failureWindow, blockDuration },
    ],
    policy,
    'bruteForce',
  )

  const refuse = (ctx: SecurityContext, state: CounterState, scope: 'pair' | 'username'): never => {
    const retryAfter = Math.max(1, secondsUntil(state.resetAt, Date.now()))
    ctx.emit('bruteforce.denied', {
      severity: 'warn',
      code: 'ratelimit.too_many_failures',
      limiter: name,
      scope,
      retryAfter,
    })
    throw new TooManyRequests({
      code: 'ratelimit.too_many_failures',
      detail: 'Too many failed attempts; retry after the time given in Retry-After.',
      retryAfter,
    })
  }

  const blocked = (ctx: SecurityContext, scope: 'pair' | 'username') =>
    ctx.emit('bruteforce.blocked', {
      severity: 'warn',
      code: 'ratelimit.too_many_failures',
      limiter: name,
      scope,
      blockDuration,
    })

  /** Applies a finished attempt to the counters (synchronously on the memory store). */
  const settle = (
    ctx: SecurityContext,
    list: readonly Counter[],
    attempt: Attempt,
    verdict: LoginVerdict,
  ) => {
    const [pair, user] = list as [Counter, Counter]
    if (verdict === 'ignore') return pair.reward(attempt.pairKey, 1)
    if (verdict === 'success') {
      const done = pair.reset(attempt.pairKey)
      return attempt.userKey === undefined ? done : Promise.all([done, user.reset(attempt.userKey)])
    }
    const pending: unknown[] = []
    if (attempt.consumed >= maxPair) {
      blocked(ctx, 'pair')
      pending.push(pair.block(attempt.pairKey, blockDuration))
    }
    if (attempt.userKey !== undefined) {
      const userKey = attempt.userKey
      const afterHit = (state: CounterState) => {
        if (state.consumed < maxUser) return undefined
        blocked(ctx, 'username')
        return user.block(userKey, blockDuration)
      }
      const counted = user.hit(userKey, 1)
      pending.push(counted instanceof Promise ? counted.then(afterHit) : afterHit(counted))
    }
    return pending.some((p) => p instanceof Promise) ? Promise.all(pending) : undefined
  }

  /** The verdict of a finished attempt; a `verdict` option that fails counts it as a failure. */
  const judge = (outcome: RequestOutcome, ctx: SecurityContext): LoginVerdict => {
    if (verdictOf === undefined) return defaultVerdict(outcome)
    let answer: unknown
    try {
      answer = verdictOf(outcome, ctx)
    } catch (err) {
      reportCallback(ctx, VERDICT, err)
      return 'failure'
    }
    if (answer === 'success' || answer === 'failure' || answer === 'ignore') return answer
    reportWrongAnswer(
      ctx,
      VERDICT,
      answer,
      "'success', 'failure' or 'ignore'",
      'Attempts it answers so count as failures',
    )
    return 'failure'
  }

  const onFinish = (outcome: RequestOutcome, ctx: SecurityContext): void => {
    const attempt = ctx.get<Attempt>(kAttempt)
    if (attempt === undefined) return
    const verdict = attempt.verdict ?? judge(outcome, ctx)
    if (verdict === 'failure') {
      ctx.emit('bruteforce.failure', { severity: 'info', limiter: name, attempts: attempt.consumed })
    }
    if (counters.sync) settle(ctx, counters.primary, attempt, verdict)
    else counters.background(ctx, (list) => settle(ctx, list, attempt, verdict))
  }

  const begin = (ctx: SecurityContext, value: unknown): Attempt => {
    const username = toUsername(ctx, value)
    const userKey = username === undefined ? undefined : hashKey(username)
    const pairKey = `${userKey ?? '-'}|${ipBucket(resolveIp(ctx), v6)}`
    return { pairKey, userKey, consumed: 0, verdict: undefined }
  }

  /**
   * Checks both counters after the attempt was taken on its pair (a refused attempt takes
   * nothing), and watches the outcome.
   */
  const check = (
    ctx: SecurityContext,
    attempt: Attempt,
    pairState: CounterState,
    userState: CounterState | undefined,
    list: readonly Counter[],
  ): unknown => {
    if (pairState.refused === true) return refuse(ctx, pairState, 'pair')
    attempt.consumed = pairState.consumed
    if (userState !== undefined && userState.consumed >= maxUser) {
      const refund = list[0]!.reward(attempt.pairKey, 1)
      const deny = () => refuse(ctx, userState, 'username')
      return refund instanceof Promise ? refund.then(deny) : deny()
    }
    ctx.set(kAttempt, attempt)
    ctx.onFinish(onFinish)
    return undefined
  }

  const decideNow = counters.sync
    ? (ctx: SecurityContext, value: unknown): void => {
        const attempt = begin(ctx, value)
        if (!checks.record(ctx, counters.primary[0]!)) return
        const [pair, user] = counters.primary as [Counter, Counter]
        const pairState = pair.take(attempt.pairKey, 1) as CounterState
        const userState =
          attempt.userKey === undefined ? undefined : (user.peek(attempt.userKey) as CounterState)
        check(ctx, attempt, pairState, userState, counters.primary)
      }
    : (ctx: SecurityContext, value: unknown): Promise<void> | undefined => {
        const attempt = begin(ctx, value)
        if (!checks.record(ctx, counters.primary[0]!)) return
        return counters
          .run(ctx, async (list) => {
            const [pair, user] = list as [Counter, Counter]
            const [pairState, userState] = await Promise.all([
              pair.take(attempt.pairKey, 1),
              attempt.userKey === undefined ? undefined : user.peek(attempt.userKey),
            ])
            await check(ctx, attempt, pairState, userState, list)
          })
          .then(() => undefined)
      }

  const run = (ctx: SecurityContext): void | Promise<void> => {
    const value = usernameValue(ctx, readUsername)
    return value instanceof Promise ? value.then((found) => decideNow(ctx, found)) : decideNow(ctx, value)
  }

  const guard = defineGuard(run, { guardName: 'bruteForce', needsBody: true, kind: 'rate-limit' })
  const mark = (ctx: SecurityContext, verdict: LoginVerdict) => {
    const attempt = ctx.get<Attempt>(kAttempt)
    if (attempt !== undefined) attempt.verdict = verdict
  }
  return Object.assign(guard, {
    success: (ctx: SecurityContext) => mark(ctx, 'success'),
    failure: (ctx: SecurityContext) => mark(ctx, 'failure'),
    reset: async (username: string, ip?: string): Promise<void> => {
      const normalized = normalizeUsername(username)
      if (normalized === undefined) return
      const userKey = hashKey(normalized)
      const [pair, user] = counters.primary as [Counter, Counter]
      await user.reset(userKey)
      if (ip !== undefined) await pair.reset(`${userKey}|${ipKey(ip, v6) ?? UNPARSABLE_IP}`)
    },
  })
}
