/**
 * The security events of `@apiward/headers`, by type, with their fields. They join core's
 * `SecurityEventMap`, so `ctx.emit()` checks them and listeners narrow on `event.type`.
 */
export interface HeadersEventMap {
  /**
   * `cors()` saw an `Origin` that is not allowed: the response carries no CORS headers (a
   * preflight is answered 204 without them), so the browser keeps the answer from the page.
   */
  'cors.origin_refused': {
    /** The refused `Origin`, at most 200 characters of it. */
    origin: string
    /** Whether the request was a preflight. */
    preflight: boolean
  }
  /** `httpsOnly()` refused a plain-HTTP request (403) or redirected it to the canonical origin. */
  'https.required': {
    /** `true` when the request was redirected, `false` when it was refused. */
    redirected: boolean
  }
  /** `apiVersion()` refused a request whose version is missing, unknown or ambiguous (400). */
  'version.unsupported': {
    /** The version the request named, at most 64 characters of it; absent when it named none. */
    version?: string
  }
}

declare module '@apiward/core' {
  interface SecurityEventMap extends HeadersEventMap {}
}

/** A security event type of `@apiward/headers`. */
export type HeadersEventType = keyof HeadersEventMap

/**
 * Every security event type `@apiward/headers` emits, for subscribers that route or count them
 * (a type test keeps it equal to {@link HeadersEventMap}).
 *
 * @example
 * ```ts
 * securityEvents.on((event) => {
 *   if (event.type === 'cors.origin_refused') metrics.corsRefused.add(1, { preflight: event.preflight })
 * })
 * ```
 */
export const HEADERS_EVENTS = [
  'cors.origin_refused',
  'https.required',
  'version.unsupported',
] as const satisfies readonly HeadersEventType[]
