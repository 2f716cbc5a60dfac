import type { SecurityContext, StateKey } from '@apiward/core'
import * as kit from '@apiward/core/adapter'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { fastifyRequest } from './request.js'

/** Decorates the apps the `apiward` plugin was registered on (their child contexts inherit it). */
export const kPlugin: unique symbol = Symbol.for('apiward.fastify.plugin')

/** Warns once when a guard hook runs on an app without the plugin; `true` sets the hook's run-once flag. */
export function warnWithoutPlugin(request: FastifyRequest): true {
  return kit.warnWithoutPlugin((request.server as { [kPlugin]?: true })[kPlugin] === true)
}

/**
 * The reply's serializer while `onSend` transformers are registered: Fastify calls it, with the
 * reply as `this`, where it would serialise the handler's object payload. It steps aside first,
 * so the route's own serializer (its response schema included) writes the transformed body.
 */
function serializeTransformed(this: FastifyReply, payload: unknown): string {
  this.serializer(null as never)
  if (typeof payload === 'string') return payload
  if (!this.hasHeader('content-type')) this.type('application/json; charset=utf-8')
  const ctx = kit.contextIn(this.request)
  return this.serialize(ctx === undefined ? payload : ctx.transformBody(payload, this.statusCode)) as string
}

/** Fastify serialises a handler's object payload through the reply's serializer, so transformers hook there. */
class FastifyBinding extends kit.NodeBinding {
  readonly #reply: FastifyReply

  constructor(reply: FastifyReply) {
    // Fastify writes the reply's headers at writeHead: setting one twice costs a second store only.
    super(reply.raw, true)
    this.#reply = reply
  }

  // Through the reply: a header set on the raw response makes Node set each of Fastify's own
  // headers one by one at writeHead (about 5k instructions a response).
  protected override put(name: string, value: string): void {
    this.#reply.header(name, value)
  }

  override interceptSend(): void {
    this.#reply.serializer(serializeTransformed)
  }
}

const bind = (reply: FastifyReply) => new FastifyBinding(reply)

/**
 * The request's `SecurityContext`, created on first use and kept on the request: the guards of
 * `onRequest` and `preHandler`, app-wide and per route, and the error handler all share it.
 */
export const contextOf = (
  req: FastifyRequest,
  reply: FastifyReply,
  options: kit.AdapterOptions,
): SecurityContext => kit.contextFor(req, req.raw, fastifyRequest, bind, reply, options)

/**
 * What a guard stored for the handler under a typed key (`createKey<T>()`): validated input, a
 * loaded resource. `undefined` when no guard set it, or no guard ran on the request.
 *
 * @example
 * ```ts
 * app.get('/notes/:id', { ...guard(loadNote) }, async (request) => stateOf(request, kNote))
 * ```
 */
export const stateOf: <T>(request: FastifyRequest, key: StateKey<T>) => T | undefined = kit.stateIn

/**
 * The Fastify request behind a guard's context, typed, for key functions and guards of your own
 * that need what only Fastify has (a decorator, `request.user` of @fastify/jwt or
 * @fastify/passport, the route's `config`); `undefined` for a context that no Fastify guard made.
 *
 * @example
 * ```ts
 * rateLimit({ points: 100, duration: 60, key: (ctx) => frameworkRequestOf(ctx)?.user?.id })
 * ```
 */
export const frameworkRequestOf: (ctx: SecurityContext) => FastifyRequest | undefined = kit.frameworkOf
