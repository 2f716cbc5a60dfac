import { ApiError, MethodNotAllowed } from '@apiward/errors'
import { allowHeaderMethods } from './kit.js'

/**
 * The methods of every matched route layer that lists them (@koa/router's `ctx.matched`, whose
 * layers each carry `methods`); anything that is not such a list gives none.
 */
export function layerMethods(layers: unknown): string[] {
  if (!Array.isArray(layers)) return []
  const methods: string[] = []
  for (const layer of layers as ReadonlyArray<{ methods?: unknown } | null | undefined>) {
    if (Array.isArray(layer?.methods)) methods.push(...(layer.methods as string[]))
  }
  return methods
}

/**
 * A router's bare 405 error (@koa/router's `allowedMethods({ throw: true })` throws one before it
 * sets `Allow`) as a 405 with `Allow` from the methods the router knows for the path; an
 * `ApiError`, another error, or a 405 for a path with no known methods, as it is.
 */
export function routerMethodError(err: unknown, methods: () => readonly string[]): unknown {
  if (typeof err !== 'object' || err === null || ApiError.is(err)) return err
  if ((err as { status?: unknown }).status !== 405) return err
  const allow = methods()
  return allow.length > 0 ? new MethodNotAllowed(allowHeaderMethods(allow), { cause: err }) : err
}
