/** A window as the headers describe it. */
export interface HeaderWindow {
  /** Policy name, a token (checked at build time, so it needs no escaping as an sf-string). */
  readonly name: string
  readonly points: number
  readonly duration: number
}

/**
 * The `RateLimit-Policy` field (draft-ietf-httpapi-ratelimit-headers, structured-field list):
 * one quoted policy name per window with its quota `q` and window `w` in seconds, e.g.
 * `"burst";q=10;w=1, "hourly";q=1000;w=3600`. It never changes, so it is built once.
 */
export function policyField(windows: readonly HeaderWindow[]): string {
  return windows.map((w) => `"${w.name}";q=${w.points};w=${w.duration}`).join(', ')
}

/** The part of a `RateLimit` list item before its remaining quota: `"name";r=`. */
export function serviceLimitPrefix(window: HeaderWindow): string {
  return `"${window.name}";r=`
}

/** Whole seconds until `resetAt` (rounded up, never negative): the `t` of `RateLimit`, `Retry-After`. */
export function secondsUntil(resetAt: number, now: number): number {
  return resetAt > now ? Math.ceil((resetAt - now) / 1000) : 0
}

/**
 * The items of one window's `RateLimit` member, e.g. `"default";r=42;t=17`: the quota left `r`
 * (never negative) and the seconds `t` until the window resets. The `;t=` end is kept while its
 * seconds stay the same (they change once a second, the quota left on every request), so a
 * request converts one number instead of two.
 */
export class ServiceLimitItems {
  readonly #prefix: string
  #seconds = -1
  #end = ''

  constructor(window: HeaderWindow) {
    this.#prefix = serviceLimitPrefix(window)
  }

  item(remaining: number, seconds: number): string {
    if (seconds !== this.#seconds) {
      this.#end = `;t=${seconds}`
      this.#seconds = seconds
    }
    return `${this.#prefix}${Math.max(remaining, 0)}${this.#end}`
  }
}
