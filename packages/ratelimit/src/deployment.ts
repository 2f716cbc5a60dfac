import { createKey, type SecurityContext, warnOnce } from '@apiward/core'
import type { Counter, RateLimitStore } from './store.js'

/**
 * Frames of a stack that is serving a request: Node's HTTP parser, and the request dispatch of
 * Express 5, Express 4, Koa and Fastify, for servers that are not Node's.
 */
const REQUEST_FRAMES = [
  'parserOnIncoming',
  'Layer.handleRequest',
  'Layer.handle [as handle_request]',
  'Application.handleRequest',
  'preHandlerCallback',
]

/** Whether the caller runs inside the synchronous part of a request handler. */
function insideRequest(): boolean {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 64
  const stack = new Error('apiward creation check').stack ?? ''
  Error.stackTraceLimit = limit
  return REQUEST_FRAMES.some((frame) => stack.includes(frame))
}

const CREATED_IN_HANDLER = 'APIWARD_LIMITER_CREATED_IN_HANDLER'

function warnCreatedInHandler(where: string): void {
  warnOnce(
    CREATED_IN_HANDLER,
    `${where} was created while a request was being handled: a limiter made per request starts with empty counters (and a memory store of its own) every time, so it never limits. Create it once at startup, next to the routes, and use that guard on every request.`,
    'ratelimit.md#deployment-checks',
  )
}

/** The limiter names each store has handed out counters for. */
const namesByStore = new WeakMap<RateLimitStore, Set<string>>()

/**
 * What a limiter checks of its own deployment: created at startup, not in a request handler (a
 * stack check now, and a request that started before the limiter existed later); its name not
 * taken on its store by another limiter (their counts would add up); and, per request, no
 * counter charged twice (a limiter mounted app-wide and on the route, or two limiters of one name).
 */
export class DeploymentChecks {
  readonly #where: string
  readonly #createdAt = performance.now()
  #requestsChecked = 0

  /** `namespace` tells the kinds of limiters apart (`rl`, `bf`); `name` is the limiter's `name`. */
  constructor(where: string, store: RateLimitStore, namespace: string, name: string) {
    this.#where = where
    if (insideRequest()) warnCreatedInHandler(where)
    let taken = namesByStore.get(store)
    if (taken === undefined) {
      taken = new Set()
      namesByStore.set(store, taken)
    }
    const claimed = `${namespace}:${name}`
    if (taken.has(claimed)) {
      warnOnce(
        'APIWARD_LIMITER_NAME_SHARED',
        `Two limiters use the name '${name}' on one store: they count in the same counters, so a request both see is counted twice and each limits the other's routes. Give each limiter its own name option; to share one budget between routes, build one limiter and put that guard on each route.`,
        'ratelimit.md#deployment-checks',
      )
    }
    taken.add(claimed)
  }

  /**
   * The record of the limiters this request met, with `counter` added; `undefined` when the
   * request already charged it (through this limiter or another of its name on its store): that
   * second charge is skipped and warned about once. Also notices, on the first requests, one
   * that started before the limiter was created.
   */
  record(ctx: SecurityContext, counter: Counter): RequestRecord | undefined {
    if (this.#requestsChecked < 8) {
      this.#requestsChecked++
      if (ctx.startedAt < this.#createdAt) warnCreatedInHandler(this.#where)
    }
    const record = ctx.get(kRecord)
    if (record === undefined) {
      const first: RequestRecord = { first: counter, more: undefined, policy: '', field: '' }
      ctx.set(kRecord, first)
      return first
    }
    if (record.first !== counter && !record.more?.includes(counter)) {
      if (record.more === undefined) record.more = [counter]
      else record.more.push(counter)
      return record
    }
    warnOnce(
      'APIWARD_DOUBLE_COUNT',
      `${this.#where} ran twice on one request (mounted app-wide and on the route, or two limiters of one name on one store): the second run is not counted again. Mount each limiter once on a request's way, or give each limiter its own name.`,
      'ratelimit.md#deployment-checks',
    )
    return undefined
  }
}

/** What the limiters of one request did so far. */
export interface RequestRecord {
  /** The first counter of the first limiter that charged the request (most requests meet one). */
  readonly first: Counter
  /** The first counter of each further limiter that charged it. */
  more: Counter[] | undefined
  /** The `RateLimit-Policy` members sent so far, `''` for none. */
  policy: string
  /** The `RateLimit` members sent so far, `''` for none. */
  field: string
  /**
   * Whether every member sent so far is an `onlyUnauthenticated` limiter's, whose points go back
   * once the request has a principal: a later limiter that runs with a principal replaces them.
   */
  refundable?: boolean
}

const kRecord = createKey<RequestRecord>('ratelimit.record')
