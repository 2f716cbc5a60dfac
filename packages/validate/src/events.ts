/** The part of a request a validator checked. */
export type RequestPart = 'params' | 'query' | 'headers' | 'body'

/**
 * The security events of `@apiward/validate`, by type, with their fields. They join core's
 * `SecurityEventMap`, so `ctx.emit()` checks them and listeners narrow on `event.type`.
 */
export interface ValidateEventMap {
  /**
   * A request was refused by `validate()`, `jsonBody()` or `openapi()`; `code` is the answer's
   * code. Never carries the input's values: only where it failed.
   */
  'validation.rejected': {
    /** The part that failed. */
    part: RequestPart
    /** JSON pointers of the failures (at most the first 10). */
    pointers: readonly string[]
  }
  /**
   * A response did not match its schema (`response(schema, { checkDrift: true })`): the
   * handler sends something the contract does not describe. The response itself is still
   * filtered and sent.
   */
  'validation.response_drift': {
    /** The status of the response. */
    status: number
    /** JSON pointers of the mismatches (at most the first 10). */
    pointers: readonly string[]
    /** The schema validator's messages for them, which describe the schema, not the data. */
    messages: readonly string[]
  }
}

declare module '@apiward/core' {
  interface SecurityEventMap extends ValidateEventMap {}
}

/** A security event type of `@apiward/validate`. */
export type ValidateEventType = keyof ValidateEventMap

/**
 * Every security event type `@apiward/validate` emits (a type test keeps it equal to
 * {@link ValidateEventMap}).
 *
 * @example
 * ```ts
 * securityEvents.on((event) => {
 *   if (event.type === 'validation.response_drift') log.warn({ pointers: event.pointers }, 'response drift')
 * })
 * ```
 */
export const VALIDATE_EVENTS = [
  'validation.rejected',
  'validation.response_drift',
] as const satisfies readonly ValidateEventType[]
