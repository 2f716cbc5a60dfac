import type { Guard, GuardInput } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { contextOf, warnWithoutPlugin } from './context.js'
import { sendProblem } from './problem.js'

/** Options of {@link createGuard}: the adapter options, `forwardErrors` included. */
export type FastifyGuardOptions = kit.AdapterOptions

/** A callback-style Fastify hook, usable as `onRequest` or `preHandler`. */
export type GuardHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void

/**
 * The route options `guard()` returns: spread them into a route's options. `onRequest` runs the
 * guards before the first one that needs the body, as soon as the headers are in; `preHandler`
 * runs the rest once the body is parsed. Either may be empty.
 */
export interface GuardHooks {
  onRequest: GuardHook[]
  preHandler: GuardHook[]
}

/** The `guard()` function of {@link createGuard}. */
export type FastifyGuard = (...guards: GuardInput[]) => GuardHooks

type Done = HookHandlerDoneFunction

const allow: kit.Allowed<FastifyRequest, FastifyReply, Done, void> = (request, _reply, done, ctx) => {
  // Only an established principal is written: a new property on every request costs.
  if (ctx.principal !== undefined) request.auth = ctx.principal
  done()
}

function guardHook(guard: Guard, options: FastifyGuardOptions): GuardHook {
  const forward = options.forwardErrors === true
  const deny: kit.Denied<FastifyRequest, FastifyReply, Done, void> = (req, reply, done, _ctx, failure) => {
    if (forward) done(failure as Error)
    else sendProblem(req, reply, failure, options)
  }
  let checked = false
  return kit.markGuards<GuardHook>(function apiwardGuard(request, reply, done) {
    if (!checked) checked = warnWithoutPlugin(request)
    kit.runGuard(guard, contextOf(request, reply, options), request, reply, done, allow, deny)
  }, guard)
}

/**
 * Builds a `guard()` bound to options (events bus, problem type base, error forwarding).
 *
 * @example
 * ```ts
 * const guard = createGuard({ problemTypeBase: 'https://api.example.com/problems/' })
 * app.get('/notes', { ...guard(jwt({ ... })) }, listNotes)
 * ```
 */
export function createGuard(options: FastifyGuardOptions = {}): FastifyGuard {
  kit.checkAdapterOptions(options, 'createGuard()')
  return function guard(...guards: GuardInput[]): GuardHooks {
    const { beforeBody, afterBody } = kit.guardPhases(guards, 'guard()')
    // Marked, so the plugin refuses a route whose options lost these hooks to a later spread.
    return kit.markHookLists({
      onRequest: beforeBody === undefined ? [] : [guardHook(beforeBody, options)],
      preHandler: afterBody === undefined ? [] : [guardHook(afterBody, options)],
    })
  }
}

/**
 * Protects a route with guards: spread the hooks it returns into the route's options. Guards run
 * in order; header-only guards in `onRequest`, before the body is read, from the first guard
 * that needs the body on in `preHandler`. The first denial answers with problem+json; otherwise
 * the request goes on with `request.auth` set.
 *
 * @example
 * ```ts
 * import { guard } from '@apiward/fastify'
 * app.get('/notes/:id', { ...guard(jwt({ jwksUri, issuer, audience }), scopes('notes:read')) }, handler)
 * // with hooks of your own: list them around the guard's
 * const notesGuard = guard(jwt(opts))
 * app.post('/notes', { onRequest: [...notesGuard.onRequest, myHook], preHandler: notesGuard.preHandler }, create)
 * ```
 */
export const guard: FastifyGuard = createGuard()
