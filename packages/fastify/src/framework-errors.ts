import { type AdapterOptions, checkAdapterOptions } from '@apiward/core/adapter'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendProblem } from './problem.js'

/** The handler Fastify's `frameworkErrors` server option takes. */
export type FrameworkErrorsHandler = (error: Error, request: FastifyRequest, reply: FastifyReply) => void

/**
 * A handler for Fastify's `frameworkErrors` server option: Fastify's router answers a malformed
 * URL (400 `request.invalid_path`) and, on Fastify 5, a path parameter over `maxParamLength`
 * (414) before any plugin runs, so only this option turns those answers into problem+json too.
 *
 * @example
 * ```ts
 * const app = Fastify({ frameworkErrors: frameworkErrors() })
 * await app.register(apiward)
 * ```
 */
export function frameworkErrors(options: AdapterOptions = {}): FrameworkErrorsHandler {
  checkAdapterOptions(options, 'frameworkErrors()')
  return function apiwardFrameworkErrors(error, request, reply) {
    sendProblem(request, reply, error, options)
  }
}
