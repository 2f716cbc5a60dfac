import type { SecurityContext } from '@apiward/core'
import { ApiError, ServiceUnavailable } from '@apiward/errors'
import { type Counter, type CounterSpec, type RateLimitStore, StoreUnavailableError } from './store.js'

/**
 * What a guard does while its remote store is unavailable (down, too slow, or recently failing):
 *
 * - `'fail-open'`: counts in process memory instead (an insurance limiter with `points /
 *   instances` per instance), so the API stays up and still limited, less precisely.
 * - `'fail-closed'`: refuses with a 503 problem (`ratelimit.unavailable`, `Retry-After`), so no
 *   request escapes the limit, at the cost of availability.
 *
 * Either way, every degraded decision emits a `ratelimit.degraded` security event.
 */
export type OnStoreFailure = 'fail-open' | 'fail-closed'

/** Options shared by guards that keep counters in a store. */
export interface StoreOptions {
  /**
   * Where counters live. Default: a `memoryStore()` of the guard's own. Use `redisStore()` when
   * several instances of the API must share limits.
   */
  store?: RateLimitStore
  /**
   * The outage policy, required with a remote store (there is no safe default: fail-open keeps
   * the API available, fail-closed keeps the limit exact). Ignored by the memory store, which
   * cannot fail.
   */
  onStoreFailure?: OnStoreFailure
}

/** Reads and checks `store` and `onStoreFailure`; `where` names the factory in errors. */
export function storeOptions(
  options: StoreOptions,
  where: string,
  fallback: () => RateLimitStore,
): { store: RateLimitStore; policy: OnStoreFailure | undefined } {
  const store = options.store ?? fallback()
  if (typeof store !== 'object' || store === null || typeof store.counter !== 'function') {
    throw new TypeError(`${where}: store must come from memoryStore() or redisStore()`)
  }
  const policy = options.onStoreFailure
  if (policy !== undefined && policy !== 'fail-open' && policy !== 'fail-closed') {
    throw new TypeError(
      `${where}: onStoreFailure must be 'fail-open' or 'fail-closed', got ${String(policy)}`,
    )
  }
  if (store.remote && policy === undefined) {
    throw new TypeError(
      `${where}: onStoreFailure is required with a remote store: 'fail-open' (count in memory while the store is unavailable) or 'fail-closed' (answer 503 until it is back)`,
    )
  }
  if (store.remote && policy === 'fail-open' && typeof store.insurance !== 'function') {
    throw new TypeError(`${where}: this store has no in-memory insurance; use onStoreFailure: 'fail-closed'`)
  }
  return { store, policy: store.remote ? policy : undefined }
}

/**
 * The counters of one guard on a store, with the outage policy applied around every call.
 */
export class GuardedCounters {
  /** Whether the counters answer synchronously (the memory store). */
  readonly sync: boolean
  readonly primary: readonly Counter[]
  readonly #insurance: readonly Counter[] | undefined
  readonly #policy: OnStoreFailure | undefined
  readonly #retryAfter: number
  readonly #guardName: string

  constructor(
    store: RateLimitStore,
    specs: readonly CounterSpec[],
    policy: OnStoreFailure | undefined,
    guardName: string,
  ) {
    this.sync = !store.remote
    this.primary = specs.map((spec) => store.counter(spec))
    this.#insurance =
      policy === 'fail-open' && store.insurance ? specs.map((spec) => store.insurance!(spec)) : undefined
    this.#policy = policy
    this.#retryAfter = Math.max(1, store.retryAfter ?? 1)
    this.#guardName = guardName
  }

  /**
   * Runs `op` on the store's counters; when the store is unavailable, emits
   * `ratelimit.degraded` and runs it on the insurance counters (`fail-open`) or throws a 503
   * (`fail-closed`).
   */
  async run<T>(ctx: SecurityContext, op: (counters: readonly Counter[]) => T | Promise<T>): Promise<T> {
    try {
      return await op(this.primary)
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err
      ctx.emit('ratelimit.degraded', {
        severity: 'warn',
        code: this.#insurance ? 'ratelimit.degraded' : 'ratelimit.unavailable',
        guard: this.#guardName,
        policy: this.#policy,
        reason: err.reason,
        detail: err.message,
      })
      if (this.#insurance === undefined) {
        throw new ServiceUnavailable({
          code: 'ratelimit.unavailable',
          detail: 'The rate limiter cannot decide on this request right now; retry later.',
          retryAfter: this.#retryAfter,
          cause: err,
        })
      }
      return op(this.#insurance)
    }
  }

  /**
   * Runs `op` after the response, where nobody can be answered: failures become events, never
   * rejections.
   */
  background(ctx: SecurityContext, op: (counters: readonly Counter[]) => unknown): void {
    this.run(ctx, op).catch((err: unknown) => {
      if (ApiError.is(err)) return
      ctx.emit('ratelimit.error', {
        severity: 'error',
        guard: this.#guardName,
        detail: err instanceof Error ? err.message : String(err),
        error: err,
      })
    })
  }
}
