/**
 * Where configuration warnings go: `code` is stable (`APIWARD_UNTRUSTED_PROXY`), `message` says
 * what happened and what to do, `docs` is a path below the docs folder with an anchor
 * (`ratelimit.md#client-ip`), when the warning has one.
 */
export type WarningLogger = (code: string, message: string, docs: string | undefined) => void

/** Options of {@link configureWarnings}. */
export interface WarningOptions {
  /**
   * Receives each warning once per code. Default: one `console.warn` line,
   * `[apiward] CODE message See docs/PAGE#ANCHOR.`, so warnings reach the same place as the
   * application's other console output without a Node-specific channel.
   */
  logger?: WarningLogger
}

/** The default logger: one line a warning. */
const consoleLine: WarningLogger = (code, message, docs) => {
  console.warn(`[apiward] ${code} ${message}${docs === undefined ? '' : ` See docs/${docs}.`}`)
}

interface WarningState {
  warned: Set<string>
  logger: WarningLogger
}

// Shared through globalThis (as the event bus is), so duplicated installs warn once and obey one logger.
const kWarnings = Symbol.for('apiward.warnings')
const holder = globalThis as { [kWarnings]?: WarningState }
holder[kWarnings] ??= { warned: new Set(), logger: consoleLine }
const state: WarningState = holder[kWarnings]

/**
 * Routes apiward's configuration warnings to `logger` (a pino or winston call, a test's spy);
 * without one, back to the default `console.warn` line. Call it at startup, before building guards:
 * some warnings are given while options are parsed.
 *
 * @example
 * ```ts
 * configureWarnings({ logger: (code, message, docs) => log.warn({ code, docs }, message) })
 * ```
 */
export function configureWarnings(options: WarningOptions = {}): void {
  const { logger } = options
  if (logger !== undefined && typeof logger !== 'function') {
    throw new TypeError('configureWarnings(): logger must be a function (code, message, docs) => void')
  }
  state.logger = logger ?? consoleLine
}

/**
 * The one channel for apiward's configuration warnings: each `code` is given once per process to
 * the logger of {@link configureWarnings} (default: one `console.warn` line). `docs` is a path
 * below the docs folder with an anchor (`ratelimit.md#client-ip`), so every warning names where
 * to read more. A logger that throws does not break the request that noticed the problem: the
 * warning falls back to the default line.
 *
 * Returns `true` when this call gave the warning, `false` when the code was already warned.
 *
 * @example
 * ```ts
 * warnOnce('APIWARD_UNPARSABLE_IP', 'The client address "x" is not an IP address: ...', 'ratelimit.md#client-ip')
 * ```
 */
export function warnOnce(code: string, message: string, docs?: string): boolean {
  if (state.warned.has(code)) return false
  state.warned.add(code)
  try {
    state.logger(code, message, docs)
  } catch {
    consoleLine(code, message, docs)
  }
  return true
}

/** Forgets which codes were warned, so a test can observe a warning again. */
export function resetWarnings(): void {
  state.warned.clear()
}

/**
 * Whether `code` was warned already (since the start or the last `resetWarnings()`), so a check
 * that costs something per request can stop once its warning was given.
 */
export function hasWarned(code: string): boolean {
  return state.warned.has(code)
}
